// Small HTTP helpers: a free loopback port, one GET, and waiting until a
// server answers 200 (the readiness check and the cold-start stopwatch).
import { request } from "node:http";
import { createServer } from "node:net";

export const HOST = "127.0.0.1";

/** A port that was free a moment ago on 127.0.0.1 (the OS picks it). */
export function freePort() {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once("error", reject);
    server.listen(0, HOST, () => {
      const { port } = server.address();
      server.close(() => resolve(port));
    });
  });
}

/** One GET without keep-alive. Resolves with status and body; rejects on socket errors or after `timeoutMs`. */
export function get(url, timeoutMs = 2000) {
  return new Promise((resolve, reject) => {
    const req = request(url, { agent: false, timeout: timeoutMs }, (res) => {
      const chunks = [];
      res.on("data", (chunk) => chunks.push(chunk));
      res.on("end", () => resolve({ status: res.statusCode, body: Buffer.concat(chunks).toString() }));
      res.on("error", reject);
    });
    req.on("timeout", () => req.destroy(new Error(`no answer from ${url} in ${timeoutMs} ms`)));
    req.on("error", reject);
    req.end();
  });
}

/**
 * Polls `url` every `intervalMs` until it answers 200; returns the response.
 * Fails early if `proc` (a startProcess handle) exits first.
 */
export async function waitForOk(url, { timeoutMs = 60_000, intervalMs = 5, proc } = {}) {
  const deadline = performance.now() + timeoutMs;
  let last = "no answer yet";
  while (performance.now() < deadline) {
    if (proc?.done) throw new Error(`exited before answering (${await describeExit(proc)})`);
    try {
      const response = await get(url, 2000);
      if (response.status === 200) return response;
      last = `status ${response.status}: ${response.body.slice(0, 200)}`;
    } catch (error) {
      last = error.code ?? error.message;
    }
    await new Promise((resolve) => setTimeout(resolve, intervalMs));
  }
  throw new Error(`${url} did not answer 200 within ${timeoutMs} ms (last: ${last})`);
}

async function describeExit(proc) {
  const { code, signal } = await proc.exited;
  const output = proc.output();
  return `${signal ? `signal ${signal}` : `code ${code}`}${output ? `; output: ${output.slice(-600)}` : ""}`;
}
