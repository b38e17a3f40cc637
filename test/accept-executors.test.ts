// serve(host, { acceptIn: "executors" }): executors accept connections and
// run routed requests on instances lent to them; the rest is forwarded to the
// main thread (runtime/src/pool/README.md, "The data plane").
import { get } from "node:http";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { createHost, readArtifact, serve, type LogRecord } from "@wfn/runtime";
import { eventually } from "./helpers/collector.js";
import { APP_BUILD, CACHE_DIR, HOSTILE_BUILD } from "./helpers/paths.js";

async function start(names: Array<[string, string]>) {
  const logs: LogRecord[] = [];
  const functions = await Promise.all(names.map(([dir, name]) => readArtifact(join(dir, name))));
  const host = await createHost({ cacheDir: CACHE_DIR, executors: 2, functions, log: (record) => logs.push(record) });
  const server = await serve(host, { port: 0, acceptIn: "executors" });
  afterAll(() => server.close());
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

/** The response's header names exactly as they came over the wire. */
function rawHeaderNames(url: string): Promise<string[]> {
  return new Promise((resolve, reject) => {
    get(url, (response) => {
      response.resume();
      response.on("end", () => resolve(response.rawHeaders.filter((_, index) => index % 2 === 0)));
    }).on("error", reject);
  });
}
