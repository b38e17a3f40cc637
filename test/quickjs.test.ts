// The QuickJS engine ("engine": "quickjs"): what the sdk gives it that
// StarlingMonkey has natively, checked inside real QuickJS components built
// by `wfn build` (test/fixtures/quickjs) against Node's own implementations;
// fetch() through the host, timers, Lambda-style handlers, and what `wfn
// build` records. (test/http.test.ts runs the HTTP suite on both engines.)
import { readFile } from "node:fs/promises";
import { createServer, type Server } from "node:http";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { APP_BUILD, QUICKJS_BUILD } from "./helpers/paths.js";
import { startHost, type TestHost } from "./helpers/host.js";

let app: TestHost;
let upstream: Server;
let upstreamUrl: string;

beforeAll(async () => {
  app = await startHost({ dir: [QUICKJS_BUILD] });
  upstream = createServer((request, response) => {
    const chunks: Buffer[] = [];
    request.on("data", (chunk: Buffer) => chunks.push(chunk));
    request.on("end", () => {
      if (request.url === "/moved") {
        response.writeHead(302, { location: "/here" }).end();
        return;
      }
      response.writeHead(200, { "content-type": "application/json" }).end(
        JSON.stringify({ method: request.method, path: request.url, probe: request.headers["x-probe"] ?? null, guest: request.headers["x-wfn-guest"] ?? null, body: Buffer.concat(chunks).toString() }),
      );
    });
  });
  await new Promise<void>((resolve) => upstream.listen(0, "127.0.0.1", resolve));
  const address = upstream.address();
  upstreamUrl = `http://127.0.0.1:${typeof address === "object" && address !== null ? address.port : 0}`;
});

afterAll(() => new Promise<void>((resolve) => upstream.close(() => resolve())));

const json = async (path: string, init?: RequestInit) => (await app.get(path, init)).json() as Promise<Record<string, unknown>>;

describe("the web globals on QuickJS answer as Node's do", () => {
  it("URL parses and resolves as Node's URL", async () => {
    const cases: Array<[string, string | undefined]> = [
      ["https://User:Pa%20ss@EXAMPLE.com:443/a/./b/../c?x=1&y=%C3%A9#frag", undefined],
      ["../up?q=a+b", "http://example.com/one/two/three"],
      ["//other.example:8080/p", "https://example.com/"],
      ["?only=query", "http://example.com/path"],
      ["http://[::1]:80/v6", undefined],
      ["http://example.com/spaces here/ü", undefined],
    ];
    for (const [input, base] of cases) {
      const query = new URLSearchParams({ input, ...(base === undefined ? {} : { base }) });
      const parsed = new URL(input, base);
      expect(await json(`/probe/url?${query}`), input).toEqual({
        href: parsed.href,
        host: parsed.host,
        pathname: parsed.pathname,
        search: parsed.search,
        hash: parsed.hash,
        params: [...parsed.searchParams],
      });
    }
  });

  it("TextDecoder and TextEncoder round-trip what Node encodes", async () => {
    const text = "héllo 日本 😀 \u0000 end";
    const answer = await json("/probe/text", { method: "POST", body: text });
    expect(answer).toEqual({ text, bytes: [...new TextEncoder().encode(text)] });
    // Malformed bytes decode to what Node's decoder gives.
    const bytes = Uint8Array.from([0x61, 0xff, 0xe2, 0x82, 0x62, 0xf0, 0x9f, 0x98]);
    expect((await json("/probe/text", { method: "POST", body: bytes })).text).toBe(new TextDecoder().decode(bytes));
  });

  it("crypto gives version-4 UUIDs and random values, structuredClone and base64 work, Headers iterate as Node's", async () => {
    const first = (await json("/probe/crypto")) as { uuid: string; values: number[] };
    const second = (await json("/probe/crypto")) as { uuid: string; values: number[] };
    expect(first.uuid).toMatch(/^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/);
    expect(first.uuid).not.toBe(second.uuid);
    expect(first.values).toHaveLength(4);
    expect(first.values).not.toEqual(second.values);
    expect(await json("/probe/clone")).toEqual({ same: false, list: [1, { deep: true }], when: "1970-01-01T00:00:00.000Z", map: [["k", "v"]], base64: btoa("hi there"), decoded: "hi there" });
    const headers = new Headers([["B", "2"], ["a", "1"], ["a", "3"]]);
    headers.append("set-cookie", "x=1");
    headers.append("set-cookie", "y=2");
    expect(await json("/probe/headers")).toEqual({ entries: [...headers], a: headers.get("A"), cookies: headers.getSetCookie(), has: true });
  });
});

describe("fetch() on QuickJS goes through the host", () => {
  it("sends method, headers and body to an allowed upstream and reads the answer, marked as the guest's", async () => {
    const answer = await json(`/probe/fetch?url=${encodeURIComponent(`${upstreamUrl}/data?x=1`)}`, { method: "POST", body: "payload" });
    expect(answer).toMatchObject({ status: 200, url: `${upstreamUrl}/data?x=1`, redirected: false, contentType: "application/json" });
    expect(JSON.parse(answer.body as string)).toEqual({ method: "POST", path: "/data?x=1", probe: "1", guest: "probe", body: "payload" });
  });

  it("follows a redirect, as fetch does", async () => {
    const answer = await json(`/probe/fetch?url=${encodeURIComponent(`${upstreamUrl}/moved`)}`);
    expect(answer).toMatchObject({ status: 200, redirected: true, url: `${upstreamUrl}/here` });
  });

  it("throws a TypeError that says why for a host outside allowedOutboundHosts and for a closed port, and logs it", async () => {
    expect(await json(`/probe/fetch?url=${encodeURIComponent("https://example.com/")}`)).toEqual({
      name: "TypeError",
      message: 'outbound request to https://example.com denied: https://example.com is not in allowedOutboundHosts of function "probe" (add it in wfn.json to allow it)',
    });
    const closed = await json(`/probe/fetch?url=${encodeURIComponent("http://127.0.0.1:1/nothing")}`);
    expect(closed).toEqual({ name: "TypeError", message: "outbound request GET http://127.0.0.1:1/nothing failed: connection refused" });
    expect(app.logs.some((record) => record.level === "warn" && record.message.includes("http://127.0.0.1:1/nothing failed: connection refused"))).toBe(true);
  });
});

describe("timers on QuickJS", () => {
  it("run in due order; clearTimeout, setInterval and a throwing callback behave as in a browser", async () => {
    expect(await json("/probe/timers")).toEqual({ order: ["a", "b"], ticks: 3 });
    expect(app.logs.some((record) => record.message.includes("Uncaught exception in a timer callback") && record.message.includes("thrown in a timer"))).toBe(true);
  });

  it("sleep without holding a thread: of twenty invocations sleeping 1 s, most sleep at the same moment", async () => {
    const answers = (await Promise.all(Array.from({ length: 20 }, () => json("/probe/sleep?ms=1000")))) as Array<{ started: number; ended: number }>;
    for (const { started, ended } of answers) expect(ended - started).toBeGreaterThanOrEqual(999);
    // The most sleeping at once (instances start a few at a time, so not always all twenty);
    // a sleep that held its thread would allow two, one per executor.
    const events = answers.flatMap(({ started, ended }) => [[started, 1], [ended, -1]] as Array<[number, number]>).sort((a, b) => a[0] - b[0] || a[1] - b[1]);
    let now = 0;
    let peak = 0;
    for (const [, change] of events) peak = Math.max(peak, (now += change));
    expect(peak).toBeGreaterThanOrEqual(10);
  });

  it("report a promise that can never settle as the invocation's error", async () => {
    const response = await app.get("/probe/never");
    expect(response.status).toBe(500);
    expect(await response.json()).toMatchObject({ errorType: "Error", errorMessage: expect.stringContaining("never settles") });
  });
});

describe("Lambda-style handlers on QuickJS", () => {
  it("run the API Gateway example unchanged: path parameters, cookies, a base64 body decoded by the Buffer shim", async () => {
    const found = await app.get("/lambda/users/2");
    expect(found.status).toBe(200);
    expect(await found.json()).toEqual({ id: "2", name: "Grace" });
    expect((await app.get("/lambda/users/9")).status).toBe(404);
    const hello = await app.get("/lambda/hello?x=1&x=2");
    expect(hello.headers.getSetCookie()).toEqual(["session=abc123; Path=/; HttpOnly", "theme=dark; Path=/"]);
    expect(await hello.json()).toMatchObject({ query: { x: "1,2" }, function: "lambda-api" });
    const pixel = new Uint8Array(await (await app.get("/lambda/pixel.png")).arrayBuffer());
    expect([...pixel.subarray(0, 8)]).toEqual([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]);
  });
});

describe("wfn build for QuickJS", () => {
  it("records the engine and the async world, and makes a component a fraction of StarlingMonkey's", async () => {
    const manifest = JSON.parse(await readFile(join(QUICKJS_BUILD, "echo", "manifest.json"), "utf8")) as { engine: { name: string }; world: string; component: { size: number }; config: { engine?: string } };
    expect(manifest.engine.name).toBe("quickjs");
    expect(manifest.world).toBe("wfn:function/function-async@0.1.0");
    expect(manifest.config.engine).toBe("quickjs");
    const starling = JSON.parse(await readFile(join(APP_BUILD, "echo", "manifest.json"), "utf8")) as { engine: { name: string }; component: { size: number }; config: { engine?: string } };
    expect(starling.engine.name).toBe("starlingmonkey");
    expect(starling.config.engine).toBeUndefined();
    expect(manifest.component.size * 2).toBeLessThan(starling.component.size);
  });
});
