// The HTTP trigger, through real HTTP on loopback to real components: the
// same functions (the app fixture, the hello and Hono examples) built for
// each engine, StarlingMonkey and QuickJS (test/fixtures/quickjs builds the
// same sources with "engine": "quickjs").
import { createHash, createHmac } from "node:crypto";
import { beforeAll, describe, expect, it } from "vitest";
import { APP_BUILD, HELLO_BUILD, HONO_BUILD, QUICKJS_BUILD } from "./helpers/paths.js";
import { startHost, type TestHost } from "./helpers/host.js";

const ENGINES: Array<[string, string[]]> = [
  ["starlingmonkey", [APP_BUILD, HELLO_BUILD, HONO_BUILD]],
  ["quickjs", [QUICKJS_BUILD]],
];

describe.each(ENGINES)("on %s", (_engine, dirs) => {
  let app: TestHost;

  beforeAll(async () => {
    app = await startHost({ dir: dirs, maxRequestBytes: 64 * 1024 });
  });

  describe("requests reach the guest unchanged", () => {
    it("answers the hello example with JSON and tags the response with its request id", async () => {
      const response = await app.get("/hello/there?x=1&y=two");
      expect(response.status).toBe(200);
      expect(response.headers.get("content-type")).toMatch(/application\/json/);
      const body = (await response.json()) as Record<string, unknown>;
      expect(body).toMatchObject({ hello: "world", method: "GET", path: "/hello/there", query: { x: "1", y: "two" } });
      expect(body.id).toBe(response.headers.get("x-wfn-request-id"));
      expect(body.id).toMatch(/^[0-9a-f-]{36}$/);
    });

    it("round-trips a non-UTF-8 binary body byte for byte", async () => {
      const bytes = new Uint8Array(4096);
      for (let i = 0; i < bytes.length; i++) bytes[i] = (i * 7 + 255) % 256;
      bytes[0] = 0xff;
      bytes[1] = 0xfe;
      bytes[2] = 0xc3; // truncated UTF-8 sequence
      const response = await app.get("/echo/raw", { method: "POST", body: bytes, headers: { "content-type": "application/x-test" } });
      expect(response.status).toBe(200);
      expect(response.headers.get("content-type")).toBe("application/x-test");
      expect(response.headers.get("x-echo-method")).toBe("POST");
      expect(new Uint8Array(await response.arrayBuffer())).toEqual(bytes);
    });

    it("passes method, full URL, query and headers to the guest", async () => {
      const response = await app.get("/echo/info?a=1&a=2", { method: "PUT", headers: { "x-custom": "value", "content-type": "text/plain" }, body: "hello" });
      const info = (await response.json()) as { method: string; url: string; headers: Array<[string, string]>; bodyLength: number; functionName: string };
      expect(info.method).toBe("PUT");
      expect(info.url).toBe(`${app.url}/echo/info?a=1&a=2`);
      expect(info.headers).toContainEqual(["x-custom", "value"]);
      expect(info.headers).toContainEqual(["content-type", "text/plain"]);
      expect(info.bodyLength).toBe(5);
      expect(info.functionName).toBe("echo");
    });

    it("keeps repeated set-cookie headers apart on the way out", async () => {
      const response = await app.get("/echo/cookies");
      expect(response.headers.getSetCookie()).toEqual(["a=1; Path=/", "b=2; Path=/; HttpOnly"]);
      expect(response.headers.get("x-multi")).toBe("one");
      expect(await response.text()).toBe("cookies");
    });

    it("routes by method and path parameters", async () => {
      const created = await app.get("/items/42", { method: "POST" });
      expect(created.status).toBe(201);
      expect(await created.json()).toMatchObject({ path: "/items/42", method: "POST" });
      expect((await app.get("/items/42")).status).toBe(404);
    });

    it("answers HEAD on a GET route without a body", async () => {
      const response = await app.get("/hello/head", { method: "HEAD" });
      expect(response.status).toBe(200);
      expect(await response.text()).toBe("");
    });

    it("passes through a 204 with no body", async () => {
      const response = await app.get("/echo/no-content");
      expect(response.status).toBe(204);
      expect(await response.text()).toBe("");
    });

    it("runs a Hono app inside a function", async () => {
      const user = await app.get("/api/users/2");
      expect(user.status).toBe(200);
      expect(user.headers.get("x-app")).toBe("hono-app");
      expect(await user.json()).toEqual({ id: "2", name: "Grace" });
      const echo = await app.get("/api/echo", { method: "POST", body: JSON.stringify({ hi: 1 }), headers: { "content-type": "application/json" } });
      expect(await echo.json()).toMatchObject({ youSent: { hi: 1 } });
      expect((await app.get("/api/users/99")).status).toBe(404);
    });

    it("bundles the Node.js modules npm packages require, and jsonwebtoken works on them", async () => {
      const response = await app.get("/node-modules?w=a&w=b", { method: "POST", body: "hi" });
      expect(response.status).toBe(200);
      // What Node.js itself computes: the shims must agree byte for byte.
      const base64url = (value: unknown) => Buffer.from(JSON.stringify(value)).toString("base64url");
      const signed = `${base64url({ alg: "HS256", typ: "JWT" })}.${base64url({ sub: "hi" })}`;
      expect(await response.json()).toEqual({
        heard: ["a", "b"],
        joined: "/a/c/d.txt",
        extension: ".gz",
        decoded: "caf|é",
        base64: "aGk=",
        sha256: createHash("sha256").update("hi").digest("hex"),
        hmac: createHmac("sha512", "key").update("hi").digest("base64"),
        random: 16,
        same: true,
        order: ["sync", "tick", "immediate"],
        stream: "ABCD",
        formatted: 'n=42 {"ok":true}',
        inherits: "function",
        query: "a=1&a=2&b=x%20y",
        port: "8080",
        assertion: "ERR_ASSERTION",
        refused: ["ERR_FEATURE_UNAVAILABLE_ON_PLATFORM", "ERR_CRYPTO_INVALID_DIGEST"],
        token: `${signed}.${createHmac("sha256", "shh").update(signed).digest("base64url")}`,
        verified: "hi",
      });
    });
  });

  describe("errors are JSON with the request id, never a host stack trace", () => {
    it("answers an unknown route with 404", async () => {
      const response = await app.get("/no/such/route");
      expect(response.status).toBe(404);
      const body = (await response.json()) as Record<string, string>;
      expect(body.errorType).toBe("ResourceNotFoundException");
      expect(body.errorMessage).toContain("GET /no/such/route");
      expect(body.requestId).toBe(response.headers.get("x-wfn-request-id"));
    });

    it("keeps /_wfn/ for the host", async () => {
      expect(await (await app.get("/_wfn/health")).json()).toMatchObject({ status: "ok" });
      const unknown = await app.get("/_wfn/nothing");
      expect(unknown.status).toBe(404);
      expect(unknown.headers.get("x-wfn-request-id")).toMatch(/^[0-9a-f-]{36}$/);
    });

    it("turns a thrown error into 500 with its type and message", async () => {
      const response = await app.get("/echo/throw");
      expect(response.status).toBe(500);
      const text = await response.text();
      expect(JSON.parse(text)).toEqual({ errorType: "TypeError", errorMessage: "boom from the guest", requestId: response.headers.get("x-wfn-request-id") });
      expect(text).not.toMatch(/\bat \/|node:internal|runtime\/dist/);
    });

    it("turns a rejected promise into 500", async () => {
      const response = await app.get("/echo/reject");
      expect(response.status).toBe(500);
      expect(await response.json()).toMatchObject({ errorType: "RangeError", errorMessage: "async boom" });
    });

    it("reports a handler that does not return a Response", async () => {
      const response = await app.get("/echo/not-a-response");
      expect(response.status).toBe(500);
      expect(await response.json()).toMatchObject({ errorType: "FunctionShapeError", errorMessage: expect.stringContaining("must return a Response") });
    });

    it("refuses a body over the limit with 413 before running the function", async () => {
      const response = await app.get("/echo/raw", { method: "POST", body: new Uint8Array(64 * 1024 + 1) });
      expect(response.status).toBe(413);
      expect(await response.json()).toMatchObject({ errorType: "RequestEntityTooLargeException" });
    });

    it("keeps serving after errors", async () => {
      const response = await app.get("/echo/count");
      expect(response.status).toBe(200);
    });
  });
});
