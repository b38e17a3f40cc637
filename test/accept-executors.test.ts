// serve(host, { acceptIn: "executors" }): executors accept connections and
// run routed requests on instances lent to them; the rest is forwarded to the
// main thread (runtime/src/pool/README.md, "The data plane").
import { Agent, get } from "node:http";
import { createServer, type AddressInfo } from "node:net";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createHost, readArtifact, serve, type HostOptions, type LogRecord } from "@wfn/runtime";
import { eventually } from "./helpers/collector.js";
import { APP_BUILD, CACHE_DIR, HOSTILE_BUILD } from "./helpers/paths.js";
import { body, multipart, streamRequest } from "./helpers/streaming.js";

const MiB = 1024 * 1024;

async function start(names: Array<[string, string]>, options: HostOptions = {}, { closeAfterAll = true } = {}) {
  const logs: LogRecord[] = [];
  const functions = await Promise.all(names.map(([dir, name]) => readArtifact(join(dir, name))));
  const host = await createHost({ cacheDir: CACHE_DIR, executors: 2, ...options, functions, log: (record) => logs.push(record) });
  const server = await serve(host, { port: 0, acceptIn: "executors" });
  if (closeAfterAll) afterAll(() => server.close());
  return { host, server, logs, url: server.url };
}

describe("executors accepting connections", { skip: process.platform !== "linux" }, () => {
  it("serve routed requests, the host's routes and unknown paths, with the invocation's log", async () => {
    const app = await start([[APP_BUILD, "warm"]]);
    for (let i = 0; i < 20; i++) {
      const response = await fetch(`${app.url}/warm`);
      expect(response.status).toBe(200);
      expect(response.headers.get("x-wfn-request-id")).toMatch(/^[0-9a-f-]{36}$/);
      await response.arrayBuffer();
    }
    expect((await fetch(`${app.url}/_wfn/health`)).status).toBe(200);
    const missing = await fetch(`${app.url}/no/such/route`);
    expect(missing.status).toBe(404);
    // An executor writes the response itself (its headers as the function gave them, `content-length` in
    // lower case); the main thread's server writes `Content-Length`. Lent instances serve most requests.
    const writers = await Promise.all(Array.from({ length: 10 }, () => rawHeaderNames(`${app.url}/warm`)));
    expect(writers.filter((names) => names.includes("content-length")).length).toBeGreaterThan(0);
    await eventually(() => (app.logs.filter((record) => record.message.startsWith("REPORT RequestId:")).length === 30 ? true : undefined), 10_000, "30 REPORT lines");
    const metrics = await (await fetch(`${app.url}/_wfn/metrics`)).text();
    expect(metrics).toMatch(/wfn_invocations_total\{[^}]*function="warm"[^}]*\} 30/);
  });

  it("stop a runaway guest on a lent instance at its timeout while other functions answer", async () => {
    const app = await start([[HOSTILE_BUILD, "spin"], [HOSTILE_BUILD, "good"]]);
    const started = performance.now();
    const spinning = fetch(`${app.url}/spin`);
    const good = await Promise.all(Array.from({ length: 5 }, () => fetch(`${app.url}/good`)));
    expect(good.map((response) => response.status)).toEqual([200, 200, 200, 200, 200]);
    const response = await spinning;
    expect(response.status).toBe(504);
    expect(performance.now() - started).toBeLessThan(5000);
    expect((await fetch(`${app.url}/good`)).status).toBe(200);
  });
});

describe("executors accepting connections, as the main thread would", { skip: process.platform !== "linux" }, () => {
  it("refuse a port something else holds, rather than share it through reusePort", async () => {
    const holder = createServer();
    await new Promise<void>((resolve) => holder.listen(0, "127.0.0.1", resolve));
    const port = (holder.address() as AddressInfo).port;
    const host = await createHost({ cacheDir: CACHE_DIR, executors: 1, functions: [await readArtifact(join(APP_BUILD, "warm"))], log: () => {} });
    try {
      await expect(serve(host, { port, acceptIn: "executors" })).rejects.toMatchObject({ code: "WFN_INVALID_CONFIG", message: expect.stringContaining(`port ${port} on 127.0.0.1 is already in use`) });
    } finally {
      await host.close();
      holder.close();
    }
  });

  it("count a request running on a lent instance as busy, log it before it is answered, and finish it on close", async () => {
    // One executor: every request reaches the thread the instance is lent to, and runs there.
    const app = await start([[HOSTILE_BUILD, "sleepy"]], { executors: 1 }, { closeAfterAll: false });
    try {
      for (let i = 0; i < 5; i++) {
        const response = await fetch(`${app.url}/sleepy?ms=1`);
        const requestId = response.headers.get("x-wfn-request-id");
        await response.arrayBuffer();
        // The executor posts the invocation's lines before it writes the answer; a reader in the host's own
        // thread (this test) may see the answer's bytes a moment before that message, never much later.
        await expect
          .poll(() => app.logs.filter((record) => record.requestId === requestId).map((record) => record.message.split(" ")[0]), { interval: 2, timeout: 1000 })
          .toEqual(["START", "END", "REPORT"]);
      }
      expect(await rawHeaderNames(`${app.url}/sleepy?ms=1`)).toContain("content-length");
      // A percent-encoded query string (most of them) runs on the executor too; only an encoded path goes to the main thread.
      expect(await rawHeaderNames(`${app.url}/sleepy?ms=1&note=a%20b`)).toContain("content-length");
      expect(await rawHeaderNames(`${app.url}/sl%65epy?ms=1`)).toContain("Content-Length");
      const slow = fetch(`${app.url}/sleepy?ms=600`);
      await expect.poll(() => app.host.function("sleepy")!.instances.busy, { interval: 5, timeout: 5000 }).toBe(1);
      const closed = app.server.close();
      const response = await slow;
      expect(response.status).toBe(200);
      expect(await response.json()).toEqual({ slept: 600 });
      await closed;
      await expect(fetch(`${app.url}/sleepy?ms=1`)).rejects.toThrow();
    } finally {
      await app.server.close();
    }
  });

  it("start an instance where requests arrive without one, so that they stop being forwarded", async () => {
    const app = await start([[APP_BUILD, "env-a"]]);
    // Eight keep-alive connections: the kernel spreads them over both executors, while the pool has
    // one instance (started for the first request) on one of them.
    const agents = Array.from({ length: 8 }, () => new Agent({ keepAlive: true, maxSockets: 1 }));
    try {
      // One request at a time, so that the pool never needs a second instance for concurrency.
      for (let round = 0; round < 3; round++) for (const agent of agents) await rawHeaderNames(`${app.url}/env/a`, agent);
      const writers: string[][] = [];
      for (const agent of agents) writers.push(await rawHeaderNames(`${app.url}/env/a`, agent));
      // Every connection's request now runs on the executor that accepted it, which writes `content-length`.
      expect(writers.map((names) => names.includes("content-length"))).toEqual(agents.map(() => true));
    } finally {
      for (const agent of agents) agent.destroy();
    }
  });

  it("stop reading a forwarded upload soon after the main thread refuses it", async () => {
    const app = await start([[APP_BUILD, "warm"]], { adminKeys: ["test-admin-key"], maxUploadBytes: 4 * MiB });
    const answer = await streamRequest(`${app.url}/_wfn/deployments`, multipart("b", [["warm/component.wasm", body(96 * MiB)]]), {
      headers: { authorization: "Bearer test-admin-key", "content-type": "multipart/form-data; boundary=b" },
    });
    expect(answer.status).toBe(413);
    // Loopback buffers on two hops hold some megabytes; reading on would take all 96.
    expect(answer.sent).toBeLessThan(40 * MiB);
    expect((await fetch(`${app.url}/warm`)).status).toBe(200);
  });
});

/** The response's header names exactly as they came over the wire. */
describe("executors accepting connections, keeping requests for their busy instances", { skip: process.platform !== "linux" }, () => {
  // WFN_EXECUTOR_WAIT_AT=0: an executor keeps a request for its own busy lent instance whatever its load
  // (by default only when its event loop is busy), one waiter per lent instance.
  const saved = process.env.WFN_EXECUTOR_WAIT_AT;
  beforeAll(() => void (process.env.WFN_EXECUTOR_WAIT_AT = "0"));
  afterAll(() => (saved === undefined ? delete process.env.WFN_EXECUTOR_WAIT_AT : void (process.env.WFN_EXECUTOR_WAIT_AT = saved)));

  it("run a waiting request on the instance once it is free, skip one whose client left, and answer waiters on close", async () => {
    const app = await start([[HOSTILE_BUILD, "sleepy"]], { executors: 1 }, { closeAfterAll: false });
    try {
      // One instance, lent to the one executor: the second request waits for it there.
      expect((await rawAnswer(`${app.url}/sleepy?ms=1`)).status).toBe(200);
      // Served by the executor: the instance is lent there now.
      await expect.poll(async () => (await rawAnswer(`${app.url}/sleepy?ms=1`)).headers, { interval: 20, timeout: 10_000 }).toContain("content-length");
      const first = rawAnswer(`${app.url}/sleepy?ms=300`);
      await expect.poll(() => app.host.function("sleepy")!.instances.busy, { interval: 5, timeout: 5000 }).toBe(1);
      const second = rawAnswer(`${app.url}/sleepy?ms=1`);
      const [a, b] = await Promise.all([first, second]);
      expect([a.status, b.status], b.body).toEqual([200, 200]);
      expect(JSON.parse(b.body)).toEqual({ slept: 1 });
      // Both written by the executor: the second was not forwarded.
      expect(a.headers).toContain("content-length");
      expect(b.headers).toContain("content-length");

      // A client that leaves while its request waits: the instance goes to the next request, nothing leaks.
      const busy = rawAnswer(`${app.url}/sleepy?ms=300`);
      await expect.poll(() => app.host.function("sleepy")!.instances.busy, { interval: 5, timeout: 5000 }).toBe(1);
      const leaving = new AbortController();
      const left = fetch(`${app.url}/sleepy?ms=1`, { signal: leaving.signal }).catch((error: unknown) => error);
      await new Promise((resolve) => setTimeout(resolve, 50));
      leaving.abort();
      expect(await left).toBeInstanceOf(Error);
      expect((await busy).status).toBe(200);
      const after = await rawAnswer(`${app.url}/sleepy?ms=1`);
      expect(after.status).toBe(200);
      await expect.poll(() => app.host.function("sleepy")!.instances.busy, { interval: 5, timeout: 5000 }).toBe(0);

      // Closing with a request waiting: it is answered all the same.
      const running = rawAnswer(`${app.url}/sleepy?ms=400`);
      await expect.poll(() => app.host.function("sleepy")!.instances.busy, { interval: 5, timeout: 5000 }).toBe(1);
      const waiting = rawAnswer(`${app.url}/sleepy?ms=1`);
      await new Promise((resolve) => setTimeout(resolve, 50));
      const closed = app.server.close();
      const [r, w] = await Promise.all([running, waiting]);
      expect([r.status, w.status], w.body).toEqual([200, 200]);
      await closed;
    } finally {
      await app.server.close();
    }
  });
});

describe("executors accepting connections, keeping requests for their busy instances, within the host's queue", { skip: process.platform !== "linux" }, () => {
  const saved = process.env.WFN_EXECUTOR_WAIT_AT;
  beforeAll(() => void (process.env.WFN_EXECUTOR_WAIT_AT = "0"));
  afterAll(() => (saved === undefined ? delete process.env.WFN_EXECUTOR_WAIT_AT : void (process.env.WFN_EXECUTOR_WAIT_AT = saved)));

  it("count a request waiting on an executor in the function's queue: 429 beyond it, as when the main thread queues", async () => {
    const app = await start([[HOSTILE_BUILD, "sleepy"]], { executors: 1, maxQueueLength: 1, maxQueueWaitMs: 300 });
    await expect.poll(async () => (await rawAnswer(`${app.url}/sleepy?ms=1`)).headers, { interval: 20, timeout: 10_000 }).toContain("content-length");
    const answers = await Promise.all(Array.from({ length: 6 }, () => rawAnswer(`${app.url}/sleepy?ms=800`)));
    expect(answers.map((answer) => answer.status).sort()).toEqual([200, 200, 429, 429, 429, 429]);
    const throttledAnswer = answers.find((answer) => answer.status === 429)!;
    expect(JSON.parse(throttledAnswer.body)).toMatchObject({ errorType: "TooManyRequestsException", errorMessage: "Rate Exceeded." });
    // The waiting request is counted while it waits: nothing is left counted once all are answered.
    await expect.poll(() => app.host.function("sleepy")!.instances.busy, { interval: 5, timeout: 5000 }).toBe(0);
  });
});

/** Status, body and raw header names of a GET on a connection of its own. */
function rawAnswer(url: string): Promise<{ status: number; body: string; headers: string[] }> {
  return new Promise((resolve, reject) => {
    get(url, { agent: false }, (response) => {
      let body = "";
      response.setEncoding("utf8");
      response.on("data", (chunk: string) => (body += chunk));
      response.on("end", () => resolve({ status: response.statusCode ?? 0, body, headers: response.rawHeaders.filter((_, index) => index % 2 === 0) }));
    }).on("error", reject);
  });
}

function rawHeaderNames(url: string, agent?: Agent): Promise<string[]> {
  return new Promise((resolve, reject) => {
    get(url, agent === undefined ? {} : { agent }, (response) => {
      response.resume();
      response.on("end", () => resolve(response.rawHeaders.filter((_, index) => index % 2 === 0)));
    }).on("error", reject);
  });
}
