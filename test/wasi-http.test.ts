// Standard wasi:http/proxy components, built by other toolchains than wfn's
// (test/setup/wasi-http.mjs): a componentize-js fetch-event script at
// wasi:http@0.2.10 and a hand-written WAT handler at wasi:http@0.2.0, served
// on their routes, invoked through the Invoke API, limited, logged and
// deployed as versions like any function.
import { cp, mkdir, mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { createServer, type Server } from "node:http";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startWfn, wfn } from "./helpers/cli.js";
import { startHost, type TestHost } from "./helpers/host.js";
import { WASI_HTTP, WASI_HTTP_BUILD } from "./helpers/paths.js";

let app: TestHost;
let upstream: Server;
let upstreamUrl: string;
const temp: string[] = [];
const LIMIT = 64 * 1024;

beforeAll(async () => {
  app = await startHost({ dir: [WASI_HTTP_BUILD], maxResponseBytes: LIMIT });
  upstream = createServer((request, response) => response.writeHead(200, { "content-type": "text/plain" }).end(`you asked for ${request.url}`));
  await new Promise<void>((resolve) => upstream.listen(0, "127.0.0.1", resolve));
  const address = upstream.address();
  upstreamUrl = `http://127.0.0.1:${typeof address === "object" && address !== null ? address.port : 0}`;
});

afterAll(async () => {
  await new Promise<void>((resolve) => upstream.close(() => resolve()));
  await Promise.all(temp.map((dir) => rm(dir, { recursive: true, force: true })));
});

async function tempDir(prefix: string): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), prefix));
  temp.push(dir);
  return dir;
}

const invoke = (name: string, payload: unknown) =>
  app.get(`/2015-03-31/functions/${name}/invocations`, { method: "POST", body: JSON.stringify(payload) }).then(async (response) => ({
    status: response.status,
    body: (await response.json()) as { statusCode?: number; headers?: Record<string, string>; body?: string; errorType?: string },
  }));

describe("a componentize-js fetch-event component (wasi:http@0.2.10)", () => {
  it("answers on its routes with the status, headers and body it set, seeing the method, path, query, headers and body", async () => {
    const response = await app.get("/fe/echo?q=1&r=two", { method: "PUT", body: "a body", headers: { "content-type": "text/x-test" } });
    expect(response.status).toBe(201);
    expect(response.headers.get("x-served-by")).toBe("fetch-event");
    expect(response.headers.get("content-type")).toBe("application/json");
    expect(await response.json()).toEqual({ method: "PUT", path: "/fe/echo", query: "?q=1&r=two", type: "text/x-test", body: "a body" });
  });

  it("gets a fresh instance per request by default, as wasmtime serve and Spin give one", async () => {
    const manifest = JSON.parse(await readFile(join(WASI_HTTP_BUILD, "fetch-event", "manifest.json"), "utf8")) as { world: string; config: { isolation: string } };
    expect(manifest.world).toBe("wasi:http/proxy@0.2");
    expect(manifest.config.isolation).toBe("request");
    // StarlingMonkey's fetch-event cannot answer twice from one instance; each of these would fail after the first.
    const statuses = await Promise.all(Array.from({ length: 6 }, () => app.get("/fe/").then(async (r) => [r.status, await r.text()])));
    expect(statuses).toEqual(Array.from({ length: 6 }, () => [200, "hello from a wasi:http component"]));
  });

  it("is reached by the Invoke API as a POST / with the payload as a JSON body", async () => {
    const { status, body } = await invoke("fetch-event", { hello: "world" });
    expect(status).toBe(200);
    expect(body.statusCode).toBe(200);
    expect(body.body).toBe("hello from a wasi:http component");
  });

  it("writes its stdout and stderr to the invocation's log", async () => {
    const response = await app.get("/fe/log");
    expect(await response.text()).toBe("logged");
    const id = response.headers.get("x-wfn-request-id")!;
    const lines = app.logs.filter((record) => record.requestId === id && record.source === "guest").map((record) => [record.level, record.message]);
    expect(lines).toEqual([
      ["info", "log line from a wasi:http component"],
      ["error", "error line from a wasi:http component"],
    ]);
  });

  it("reaches an allowed upstream through wasi:http/outgoing-handler, and is refused one outside the allow-list", async () => {
    const allowed = await app.get(`/fe/upstream?to=${encodeURIComponent(`${upstreamUrl}/data`)}`);
    expect(await allowed.text()).toBe("upstream said 200: you asked for /data");
    const denied = await app.get(`/fe/upstream?to=${encodeURIComponent("http://localhost:9/secret")}`);
    // The standard HTTP-request-denied error code (StarlingMonkey's fetch rejects with it), and the reason in the log.
    expect(denied.status).toBe(502);
    expect(await denied.text()).toMatch(/^fetch failed: /);
    const id = denied.headers.get("x-wfn-request-id")!;
    const warnings = app.logs.filter((record) => record.requestId === id && record.level === "warn").map((record) => record.message);
    expect(warnings).toEqual([expect.stringContaining('http://localhost:9 is not in allowedOutboundHosts of function "fetch-event"')]);
  });

  it("is stopped at its timeout", async () => {
    const response = await app.get("/fe/spin");
    expect(response.status).toBe(504);
    expect(((await response.json()) as { errorType: string }).errorType).toBe("Sandbox.Timedout");
    expect((await app.get("/fe/")).status).toBe(200);
  });

  it("may not answer more than maxResponseBytes, and is refused with the error any function gets", async () => {
    const under = await app.get(`/fe/big?bytes=${LIMIT - 1024}`);
    expect((await under.text()).length).toBe(LIMIT - 1024);
    const over = await app.get(`/fe/big?bytes=${LIMIT * 4}`);
    expect(over.status).toBeGreaterThanOrEqual(500);
    const body = (await over.json()) as { errorType: string; errorMessage: string };
    expect(body.errorType).toBe("Function.ResponseSizeTooLarge");
    expect(body.errorMessage).toContain(`(${LIMIT} bytes)`);
  });

  it("answers 500 with the reason when the handler throws instead of responding", async () => {
    const response = await app.get("/fe/throw");
    expect(response.status).toBe(500);
    expect(((await response.json()) as { errorType: string }).errorType).toBe("Runtime.InvalidResponse");
  });
});

describe("a hand-written WAT component (wasi:http@0.2.0)", () => {
  it("answers with its status, header and body, reused across requests when wfn.json says isolation: instance", async () => {
    for (const path of ["/wat/one?x=1", "/wat/two", "/wat/three/deeper"]) {
      const response = await app.get(path);
      expect(response.status).toBe(203);
      expect(response.headers.get("content-type")).toBe("text/plain");
      expect(await response.text()).toBe(`wat saw ${path}`);
    }
  });

  it("is reached by the Invoke API at /", async () => {
    const { body } = await invoke("hello-wat", null);
    expect(body).toMatchObject({ statusCode: 203, body: "wat saw /" });
  });

  it("that returns without setting a response answers 500, and the instance serves the next request", async () => {
    const response = await app.get("/wat/none");
    expect(response.status).toBe(500);
    expect(await response.json()).toMatchObject({ errorType: "Runtime.InvalidResponse", errorMessage: expect.stringContaining("response-outparam.set was not called") });
    expect(await (await app.get("/wat/after")).text()).toBe("wat saw /wat/after");
  });
});

describe("wfn build and wfn deploy with a wasi:http component", () => {
  async function project(config: Record<string, unknown>, component = "hello-wat.wasm"): Promise<string> {
    const dir = await tempDir("wfn-wasi-http-");
    await mkdir(join(dir, "gen"));
    await cp(join(WASI_HTTP, "gen", component), join(dir, "gen", "handler.wasm"));
    await writeFile(join(dir, "wfn.json"), JSON.stringify({ functions: { web: { entry: "gen/handler.wasm", routes: ["/*"], ...config } } }));
    return dir;
  }

  it("refuses a trigger a wasi:http component has no handler for", async () => {
    const dir = await project({ schedule: "rate(1 minute)" });
    const built = await wfn(["build", dir]);
    expect(built.code).not.toBe(0);
    expect(built.stderr).toContain("functions.web: a wasi:http/proxy component serves HTTP requests and invokes only; remove its schedule trigger");
    expect(built.stderr).not.toMatch(/\n\s+at /);
  });

  it("deploys to a running host as versions, served unchanged", async () => {
    const key = "wasi-http-admin-key-0123456789";
    const server = startWfn(["serve", "--port", "0", "--data-dir", await tempDir("wfn-wasi-http-data-"), "--admin-key", key, "--executors", "1"], { cwd: await tempDir("wfn-wasi-http-cwd-") });
    try {
      const [, url] = await server.waitFor(/serving \d+ functions? on (http:\/\/\S+)/, 120_000);
      const env = { WFN_HOST: url!, WFN_KEY: key };
      const first = await wfn(["deploy", await project({ isolation: "instance" })], { env });
      expect(first.code, first.stderr).toBe(0);
      expect(await (await fetch(`${url}/v1`)).text()).toBe("wat saw /v1");
      const second = await wfn(["deploy", await project({}, "fetch-event.wasm")], { env });
      expect(second.code, second.stderr).toBe(0);
      expect(second.stdout).toMatch(/^web\s+1 → 2\s/m);
      expect(await (await fetch(`${url}/v2`)).text()).toBe("hello from a wasi:http component");
    } finally {
      await server.stop();
    }
  });
});
