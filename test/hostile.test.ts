// Untrusted code: whatever a function does, the caller gets a clear error and
// every other function keeps answering.
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { HOSTILE_BUILD } from "./helpers/paths.js";
import { startHost, type TestHost } from "./helpers/host.js";

let app: TestHost;
let upstream: Server;
let upstreamUrl: string;
const received: Array<{ method: string; url: string; from: string | undefined; body: string }> = [];

beforeAll(async () => {
  upstream = createServer((req, res) => {
    let body = "";
    req.on("data", (chunk) => (body += chunk));
    req.on("end", () => {
      received.push({ method: req.method!, url: req.url!, from: req.headers["x-from"] as string | undefined, body });
      res.setHeader("x-upstream", "yes");
      res.end(`upstream saw ${req.method} ${req.url}`);
    });
  });
  await new Promise<void>((resolve) => upstream.listen(0, "127.0.0.1", resolve));
  upstreamUrl = `http://127.0.0.1:${(upstream.address() as AddressInfo).port}`;
  app = await startHost({ dir: HOSTILE_BUILD });
});

afterAll(() => new Promise<void>((resolve) => upstream.close(() => resolve())));

/** Fires `count` requests to /good spread over `overMs`, returning their statuses. */
async function goodLoad(count: number, overMs: number): Promise<number[]> {
  return Promise.all(
    Array.from({ length: count }, async (_, i) => {
      await new Promise((resolve) => setTimeout(resolve, (overMs * i) / count));
      return (await app.get("/good")).status;
    }),
  );
}

describe("an infinite loop", () => {
  it("is stopped at its timeout with 504 Sandbox.Timedout while other functions keep answering", async () => {
    const load = goodLoad(30, 900);
    const started = performance.now();
    const response = await app.get("/spin");
    const elapsed = performance.now() - started;
    expect(response.status).toBe(504);
    const body = (await response.json()) as { errorType: string; errorMessage: string; requestId: string };
    expect(body.errorType).toBe("Sandbox.Timedout");
    expect(body.errorMessage).toMatch(new RegExp(`^RequestId: ${body.requestId} Error: Task timed out after 0\\.\\d\\d seconds$`));
    expect(elapsed).toBeGreaterThanOrEqual(500);
    expect(await load).toEqual(Array(30).fill(200));
  });

  it("reports a timeout on direct invocation in Lambda's format", async () => {
    const result = await app.host.invoke("spin", {});
    expect(result.status).toBe("failed");
    if (result.status !== "failed") return;
    expect(result.error.lambdaType).toBe("Sandbox.Timedout");
    expect(result.error.message).toMatch(/^RequestId: [0-9a-f-]{36} Error: Task timed out after \d+\.\d{2} seconds$/);
  });

  it("leaves the pools at their warm size once the executor is replaced", async () => {
    const timedOut = await app.get("/spin");
    expect(timedOut.status).toBe(504);
    await timedOut.body?.cancel();
    await expect.poll(() => app.host.functions().find((fn) => fn.name === "spin")!.instances.total, { timeout: 10_000 }).toBe(1);
    await expect.poll(() => app.host.functions().find((fn) => fn.name === "good")!.instances.total, { timeout: 10_000 }).toBeGreaterThanOrEqual(1);
    expect(app.logs.some((r) => r.level === "error" && /Task timed out/.test(r.message))).toBe(true);
  });
});

describe("a memory bomb", () => {
  it("fails with a clear out-of-memory error at its memoryMB, and the host's memory stays bounded", async () => {
    const before = process.memoryUsage().rss;
    const response = await app.get("/bomb");
    expect(response.status).toBe(502);
    expect(await response.json()).toMatchObject({ errorType: "Runtime.OutOfMemory", errorMessage: expect.stringContaining("out of memory (limit 48 MB)") });
    const grown = process.memoryUsage().rss - before;
    expect(grown).toBeLessThan(256 * 1024 * 1024);
    expect((await app.get("/good")).status).toBe(200);
  });

  it("never reuses the instance that ran out of memory", async () => {
    const second = await app.get("/bomb");
    expect(second.status).toBe(502);
    expect(app.host.functions().find((fn) => fn.name === "bomb")!.instances.total).toBe(0);
  });
});

describe("an instance whose memory keeps growing", () => {
  it("is replaced before it reaches its limit, so no call fails", async () => {
    const kept: number[] = [];
    for (let i = 0; i < 40; i++) {
      const response = await app.get("/hog");
      expect(response.status, await response.clone().text()).toBe(200);
      kept.push(((await response.json()) as { kept: number }).kept);
    }
    // 40 calls keep ~80 MB in all, over the 64 MB limit: fresh instances took over (their count starts again).
    expect(kept.some((count, i) => i > 0 && count < kept[i - 1]!)).toBe(true);
    expect(app.logs.some((r) => r.function === "hog" && /out of memory/.test(r.message))).toBe(false);
  });
});

describe("a trap", () => {
  it("answers 502 Runtime.ExitError and retires the instance", async () => {
    for (let i = 0; i < 3; i++) {
      const response = await app.get("/trap");
      expect(response.status).toBe(502);
      expect(await response.json()).toMatchObject({ errorType: "Runtime.ExitError", errorMessage: expect.stringContaining("unreachable") });
    }
    expect(app.host.functions().find((fn) => fn.name === "trap")!.instances.total).toBe(0);
  });
});

describe("a stdout flood", () => {
  it("is cut at the per-invocation log limit with a marker, and the call still answers", async () => {
    const response = await app.get("/flood");
    expect(response.status).toBe(200);
    expect(await response.text()).toBe("flooded");
    const requestId = response.headers.get("x-wfn-request-id");
    const lines = app.logs.filter((r) => r.requestId === requestId && r.source === "guest");
    const kept = lines.reduce((sum, r) => sum + r.message.length, 0);
    expect(kept).toBeLessThan(300 * 1024);
    expect(lines.at(-1)?.message).toMatch(/^\[wfn\] log output truncated: \d+ bytes over the 262144-byte limit per invocation were dropped$/);
  });
});

describe("capabilities", () => {
  it("gives no filesystem, no host globals, no host env, and no network outside the allow-list", async () => {
    const body = (await (await app.get("/snoop")).json()) as Record<string, unknown>;
    expect(body.env).toEqual({ VISIBLE: "yes" });
    expect(body.globals).toEqual({ process: "undefined", require: "undefined", Deno: "undefined", Bun: "undefined" });
    expect(body.file).toMatch(/^TypeError: outbound request to file:\/\/ denied/);
    expect(body.denied).toBe(
      'TypeError: outbound request to https://example.com denied: https://example.com is not in allowedOutboundHosts of function "snoop" (add it in wfn.json to allow it)',
    );
    expect(body.loopback).toMatch(/^TypeError: outbound request to http:\/\/127\.0\.0\.1:1 denied/);
  });

  it("logs every refused outbound request for the operator", async () => {
    const response = await app.get("/snoop");
    const requestId = response.headers.get("x-wfn-request-id");
    const warnings = app.logs.filter((r) => r.requestId === requestId && r.level === "warn").map((r) => r.message);
    expect(warnings).toContain('outbound request to https://example.com denied: https://example.com is not in allowedOutboundHosts of function "snoop" (add it in wfn.json to allow it)');
  });

  it("lets fetch reach an allowed host, with method, headers and body", async () => {
    const get = await app.get(`/fetch?url=${encodeURIComponent(`${upstreamUrl}/hello?q=1`)}`);
    expect(await get.json()).toMatchObject({ status: 200, header: "yes", body: "upstream saw GET /hello?q=1" });
    const post = await app.get(`/fetch?url=${encodeURIComponent(`${upstreamUrl}/items`)}`, { method: "POST", body: "payload" });
    expect(await post.json()).toMatchObject({ status: 200, body: "upstream saw POST /items" });
    expect(received.at(-1)).toEqual({ method: "POST", url: "/items", from: "guest", body: "payload" });
  });

  it("refuses a host that is not allowed, naming it and the configuration key", async () => {
    const response = await app.get(`/fetch?url=${encodeURIComponent("http://localhost:9/x")}`);
    expect(await response.json()).toEqual({
      error: 'TypeError: outbound request to http://localhost:9 denied: http://localhost:9 is not in allowedOutboundHosts of function "fetcher" (add it in wfn.json to allow it)',
    });
  });
});

describe("response size", () => {
  it("passes a large response under the limit and refuses one over it", async () => {
    const ok = await app.get("/big?mb=2");
    expect((await ok.arrayBuffer()).byteLength).toBe(2 * 1024 * 1024);
    const tooBig = await app.get("/big?mb=7");
    expect(tooBig.status).toBe(502);
    expect(await tooBig.json()).toMatchObject({ errorType: "Function.ResponseSizeTooLarge" });
  });
});

describe("isolation: request", () => {
  it("runs every invocation on a fresh instance, from a spare made ahead of time", async () => {
    const calls = [];
    for (let i = 0; i < 3; i++) calls.push(((await (await app.get("/fresh")).json()) as { calls: number }).calls);
    expect(calls).toEqual([1, 1, 1]);
    await expect.poll(() => app.host.functions().find((fn) => fn.name === "fresh")!.instances, { timeout: 5000 }).toEqual({ total: 1, idle: 1, busy: 0, starting: 0 });
  });
});
