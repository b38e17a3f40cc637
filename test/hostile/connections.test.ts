// A flood of idle connections: the host caps how many it keeps open (in
// all, and from one address), so it never runs out of file descriptors and
// other clients keep being served while the flood lasts.
import { spawn, type ChildProcess } from "node:child_process";
import { connect, type Socket } from "node:net";
import { request } from "node:http";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { CACHE_DIR, ROOT, WFN } from "../helpers/paths.js";

const KEY = "connections-test-admin-key-0123";
let child: ChildProcess | undefined;
const sockets: Socket[] = [];
afterAll(async () => {
  for (const socket of sockets) socket.destroy();
  child?.kill("SIGKILL");
});

/** `wfn serve` of examples/hello with an open-file limit of `files`; resolves with its port. */
function serveWithFileLimit(files: number): Promise<number> {
  const command = `ulimit -n ${files} && exec "$0" "$@"`;
  child = spawn("sh", ["-c", command, process.execPath, WFN, "serve", join(ROOT, "examples", "hello"), "--port", "0", "--no-build", "--executors", "1", "--admin-key", KEY], {
    env: { ...process.env, WFN_CACHE_DIR: CACHE_DIR, NO_COLOR: "1" },
  });
  let output = "";
  return new Promise((resolve, reject) => {
    const onData = (chunk: Buffer) => {
      output += chunk.toString();
      const match = /serving 1 function on http:\/\/127\.0\.0\.1:(\d+)/.exec(output);
      if (match) resolve(Number(match[1]));
    };
    child!.stdout!.on("data", onData);
    child!.stderr!.on("data", onData);
    child!.on("close", () => reject(new Error(`wfn serve exited:\n${output}`)));
  });
}

/** Opens `count` connections from 127.0.0.1 that never send anything; resolves once each is open or refused. */
async function flood(port: number, count: number): Promise<{ open: number; closed: number }> {
  let closed = 0;
  await Promise.all(
    Array.from(
      { length: count },
      () =>
        new Promise<void>((resolve) => {
          const socket = connect({ host: "127.0.0.1", port });
          sockets.push(socket);
          socket.once("connect", () => resolve());
          socket.once("error", () => resolve());
          socket.once("close", () => {
            closed++;
            resolve();
          });
        }),
    ),
  );
  // Let the host accept (and close what is over its caps).
  await new Promise((resolve) => setTimeout(resolve, 1000));
  return { open: sockets.filter((s) => !s.destroyed && s.readyState === "open").length, closed };
}

/** A GET from another loopback address (a different client), on a new connection. */
function getFrom(localAddress: string, port: number): Promise<number> {
  return new Promise((resolve) => {
    const req = request({ host: "127.0.0.1", port, path: "/", localAddress, agent: false, timeout: 10_000 }, (res) => {
      res.resume();
      res.on("end", () => resolve(res.statusCode ?? 0));
    });
    req.on("timeout", () => req.destroy(new Error("timeout")));
    req.on("error", () => resolve(0));
    req.end();
  });
}

describe("a flood of idle connections", () => {
  it("leaves other clients served: the host keeps at most its share of connections from one address", async () => {
    const port = await serveWithFileLimit(1024);
    // More than the process could hold open.
    const { open } = await flood(port, 1500);
    // From this side they all opened (the kernel accepts them); the host closed what is over its caps.
    expect(open).toBeLessThan(1500);
    const statuses: number[] = [];
    for (let i = 0; i < 30; i++) statuses.push(await getFrom("127.0.0.2", port));
    expect(statuses).toEqual(Array(30).fill(200));
    // Once the flood ends, its address is served again.
    for (const socket of sockets) socket.destroy();
    await new Promise((resolve) => setTimeout(resolve, 500));
    expect(await getFrom("127.0.0.1", port)).toBe(200);
  });
});
