// Outbound HTTP from untrusted code: request bodies are bounded, failures are
// explained, redirects are followed one checked hop at a time, and every
// request says which guest made it.
import { createServer, type IncomingHttpHeaders, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { HOSTILE_BUILD } from "../helpers/paths.js";
import { startHost, type TestHost } from "../helpers/host.js";

const MiB = 1024 * 1024;

let app: TestHost;
let upstream: Server;
let upstreamUrl: string;
const received: Array<{ method: string; url: string; headers: IncomingHttpHeaders; bytes: number }> = [];

beforeAll(async () => {
  upstream = createServer((req, res) => {
    let bytes = 0;
    req.on("data", (chunk: Buffer) => (bytes += chunk.byteLength));
    req.on("end", () => {
      received.push({ method: req.method!, url: req.url!, headers: req.headers, bytes });
      const url = new URL(req.url!, "http://upstream");
      if (url.pathname === "/redirect") {
        res.writeHead(Number(url.searchParams.get("status") ?? "302"), { location: url.searchParams.get("to")! });
        res.end("moved");
      } else if (url.pathname === "/loop") {
        res.writeHead(302, { location: "/loop" }).end();
      } else if (url.pathname === "/large") {
        res.end(Buffer.alloc(Number(url.searchParams.get("mb")) * MiB, 97));
      } else {
        res.setHeader("x-upstream", "yes");
        res.end(`upstream saw ${req.method} ${req.url} with ${bytes} bytes`);
      }
    });
  });
  await new Promise<void>((resolve) => upstream.listen(0, "127.0.0.1", resolve));
  upstreamUrl = `http://127.0.0.1:${(upstream.address() as AddressInfo).port}`;
  app = await startHost({ dir: HOSTILE_BUILD });
});

afterAll(() => new Promise<void>((resolve) => upstream.close(() => resolve())));

const q = encodeURIComponent;

/** What the `fetcher` function saw when it fetched `url`. */
async function fetched(url: string, init?: RequestInit & { redirect?: RequestRedirect }): Promise<Record<string, unknown>> {
  const mode = init?.redirect === undefined ? "" : `&redirect=${init.redirect}`;
  return (await app.get(`/fetch?url=${q(url)}${mode}`, { method: init?.method ?? "GET", body: init?.body ?? null })).json();
}

/** Warning lines logged for the invocation that answered `response`. */
function warnings(response: Response): string[] {
  const requestId = response.headers.get("x-wfn-request-id");
  return app.logs.filter((r) => r.requestId === requestId && r.level === "warn").map((r) => r.message);
}

/** Calls `/upload` while other functions are called, and measures how much the host's memory grew. */
async function upload(query: string): Promise<{ response: Response; result: Record<string, unknown>; grownMiB: number; others: number[] }> {
  const before = process.memoryUsage().rss;
  let peak = before;
  const sampler = setInterval(() => (peak = Math.max(peak, process.memoryUsage().rss)), 20);
  const others = Promise.all(Array.from({ length: 5 }, async () => (await app.get("/good")).status));
  const response = await app.get(`/upload?${query}`);
  const result = (await response.json()) as Record<string, unknown>;
  clearInterval(sampler);
  peak = Math.max(peak, process.memoryUsage().rss);
  return { response, result, grownMiB: (peak - before) / MiB, others: await others };
}

describe("an outgoing request body", () => {
  // The instance's own memory (its cold start, its heap) is not what is measured.
  beforeAll(async () => void (await app.get(`/upload?mb=32&url=${q("http://localhost:9/warm")}`)));

  it("streamed to a denied host is refused, and none of it is kept", async () => {
    const { response, result, grownMiB, others } = await upload(`mb=400&url=${q("http://localhost:9/sink")}`);
    expect(result).toEqual({
      error: 'TypeError: outbound request to http://localhost:9 denied: http://localhost:9 is not in allowedOutboundHosts of function "upload" (add it in wfn.json to allow it)',
    });
    expect(warnings(response)).toHaveLength(1);
    expect(grownMiB).toBeLessThan(256);
    expect(others).toEqual(Array(5).fill(200));
  });

  it("streamed to an allowed host past maxOutboundRequestBytes fails the fetch, is never sent, and is not kept", async () => {
    // A path of its own: the next test sends a body to /sink that is meant to arrive.
    const { response, result, grownMiB, others } = await upload(`mb=400&url=${q(`${upstreamUrl}/sink-streamed`)}`);
    const sentence = `outbound request POST ${upstreamUrl}/sink-streamed failed: request body larger than maxOutboundRequestBytes = ${16 * MiB} bytes`;
    expect(result).toEqual({ error: `TypeError: ${sentence}` });
    expect(warnings(response)).toEqual([sentence]);
    expect(received.some((r) => r.url === "/sink-streamed")).toBe(false);
    expect(grownMiB).toBeLessThan(256);
    expect(others).toEqual(Array(5).fill(200));
  });

  it("given as one buffer past the limit fails the same way; one at the limit is sent whole", async () => {
    const over = await app.get(`/upload?kind=bytes&mb=17&url=${q(`${upstreamUrl}/sink`)}`);
    expect(await over.json()).toEqual({
      error: `TypeError: outbound request POST ${upstreamUrl}/sink failed: request body larger than maxOutboundRequestBytes = ${16 * MiB} bytes`,
    });
    const atLimit = await app.get(`/upload?kind=bytes&mb=16&url=${q(`${upstreamUrl}/sink`)}`);
    expect(await atLimit.json()).toEqual({ status: 200, body: `upstream saw POST /sink with ${16 * MiB} bytes` });
  });
});

describe("a failed outbound request", () => {
  it("to a closed port rejects with the URL and 'connection refused', and logs it", async () => {
    const closed = createServer();
    await new Promise<void>((resolve) => closed.listen(0, "127.0.0.1", resolve));
    const port = (closed.address() as AddressInfo).port;
    await new Promise<void>((resolve) => closed.close(() => resolve()));
    const response = await app.get(`/fetch?url=${q(`http://127.0.0.1:${port}/gone?secret=1`)}`);
    const sentence = `outbound request GET http://127.0.0.1:${port}/gone failed: connection refused`;
    expect(await response.json()).toEqual({ error: `TypeError: ${sentence}` });
    expect(warnings(response)).toEqual([sentence]);
  });

  it("with a response over maxOutboundResponseBytes rejects naming the limit, and logs it", async () => {
    const response = await app.get(`/fetch?url=${q(`${upstreamUrl}/large?mb=17`)}`);
    const sentence = `outbound request GET ${upstreamUrl}/large failed: response larger than maxOutboundResponseBytes = ${16 * MiB} bytes`;
    expect(await response.json()).toEqual({ error: `TypeError: ${sentence}` });
    expect(warnings(response)).toEqual([sentence]);
  });
});

describe("redirects", () => {
  it("are followed to an allowed URL, as a new request", async () => {
    const result = await fetched(`${upstreamUrl}/redirect?to=${q("/hello?after=1")}`);
    expect(result).toMatchObject({ status: 200, body: "upstream saw GET /hello?after=1 with 0 bytes", redirected: true, url: `${upstreamUrl}/hello?after=1` });
    expect(received.at(-1)).toMatchObject({ method: "GET", url: "/hello?after=1" });
  });

  it("turn a POST into a GET without body on 303 (and 301/302), and send the body again on 307", async () => {
    for (const status of [301, 302, 303]) {
      const result = await fetched(`${upstreamUrl}/redirect?status=${status}&to=/after`, { method: "POST", body: "payload" });
      expect(result).toMatchObject({ status: 200, body: "upstream saw GET /after with 0 bytes" });
      expect(received.at(-1)!.headers["content-type"]).toBeUndefined();
    }
    const result = await fetched(`${upstreamUrl}/redirect?status=307&to=/after`, { method: "POST", body: "payload" });
    expect(result).toMatchObject({ status: 200, body: "upstream saw POST /after with 7 bytes" });
  });

  it("to a host outside the allow-list are refused like a direct request", async () => {
    const response = await app.get(`/fetch?url=${q(`${upstreamUrl}/redirect?to=${q("http://localhost:9/x")}`)}`);
    const denial = 'outbound request to http://localhost:9 denied: http://localhost:9 is not in allowedOutboundHosts of function "fetcher" (add it in wfn.json to allow it)';
    expect(await response.json()).toEqual({ error: `TypeError: ${denial}` });
    expect(warnings(response)).toEqual([denial]);
  });

  it("are returned as they are with redirect: 'manual', and reject with redirect: 'error'", async () => {
    const url = `${upstreamUrl}/redirect?to=/hello`;
    expect(await fetched(url, { redirect: "manual" })).toMatchObject({ status: 302, location: "/hello", redirected: false, body: "moved" });
    expect(await fetched(url, { redirect: "error" })).toEqual({
      error: `TypeError: fetch GET ${url} was redirected (302) and its redirect mode is "error"`,
    });
  });

  it("stop after 20", async () => {
    const before = received.length;
    expect(await fetched(`${upstreamUrl}/loop`)).toEqual({ error: `TypeError: fetch GET ${upstreamUrl}/loop: more than 20 redirects` });
    expect(received.length - before).toBe(21);
  });
});

describe("every outbound request", () => {
  it("carries x-wfn-guest with the function's name, whatever the guest set", async () => {
    await fetched(`${upstreamUrl}/who`);
    expect(received.at(-1)!.headers["x-wfn-guest"]).toBe("fetcher");
    await app.get(`/upload?kind=bytes&mb=1&url=${q(`${upstreamUrl}/who`)}`);
    expect(received.at(-1)!.headers["x-wfn-guest"]).toBe("upload");
  });
});
