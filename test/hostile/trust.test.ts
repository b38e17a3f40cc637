// Who the admin API trusts. A host without admin keys answers only direct
// connections from its own machine: never a request handed to it by an
// embedding program, forwarded by a proxy, or made by one of its own
// functions; `wfn serve` without keys makes a key for its run instead.
// Functions with "auth": "key" need a key for every version they may run.
import { createServer, request as httpRequest, type Server } from "node:http";
import { existsSync } from "node:fs";
import { mkdtemp, readFile, rm } from "node:fs/promises";
import type { AddressInfo } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { getRequestListener } from "@hono/node-server";
import { Agent, fetch as undiciFetch } from "undici";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createHost, readArtifact, type Artifact, type LogRecord } from "@wfn/runtime";
import { startWfn, wfn } from "../helpers/cli.js";
import { startHost } from "../helpers/host.js";
import { CACHE_DIR, HELLO_BUILD, HOSTILE_BUILD, LAMBDA_API_BUILD, ROOT } from "../helpers/paths.js";

const temps: string[] = [];
async function tempDir(prefix: string): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), prefix));
  temps.push(dir);
  return dir;
}
afterAll(() => Promise.all(temps.map((dir) => rm(dir, { recursive: true, force: true }))));

let hello: Artifact;
let lambdaApi: Artifact;
beforeAll(async () => {
  hello = await readArtifact(join(HELLO_BUILD, "hello"));
  lambdaApi = await readArtifact(join(LAMBDA_API_BUILD, "lambda-api"));
});

/** An upload of one function named `name` (hello's code), as `wfn deploy` sends it. */
function upload(name: string): FormData {
  const manifest = { ...hello.manifest, name, config: { ...hello.manifest.config, routes: [`GET /${name}`], env: { PLANTED: "yes" } } };
  const form = new FormData();
  form.append(`${name}/manifest.json`, new Blob([JSON.stringify(manifest)]), "manifest.json");
  form.append(`${name}/component.wasm`, new Blob([hello.component as BlobPart]), "component.wasm");
  return form;
}

/**
 * A reverse proxy on loopback in front of `target`. It passes requests on as
 * they came; with `clientAddress` it also appends that address to
 * X-Forwarded-For, as nginx's `$proxy_add_x_forwarded_for` does for the client it saw.
 */
async function startProxy(target: string, options: { clientAddress?: string } = {}): Promise<{ url: string; close(): Promise<void> }> {
  const upstream = new URL(target);
  const server: Server = createServer((incoming, outgoing) => {
    const headers = { ...incoming.headers };
    if (options.clientAddress !== undefined) {
      headers["x-forwarded-for"] = headers["x-forwarded-for"] === undefined ? options.clientAddress : `${String(headers["x-forwarded-for"])}, ${options.clientAddress}`;
    }
    const forwarded = httpRequest({ host: upstream.hostname, port: upstream.port, method: incoming.method, path: incoming.url, headers }, (answer) => {
      outgoing.writeHead(answer.statusCode ?? 502, answer.headers);
      answer.pipe(outgoing);
    });
    forwarded.on("error", () => outgoing.writeHead(502).end());
    incoming.pipe(forwarded);
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

/** The message of a host error (`errorMessage`) or of an Invoke API error (`Message`). */
const errorMessage = async (response: Response | Awaited<ReturnType<typeof undiciFetch>>) => {
  const body = (await response.json()) as { errorMessage?: string; Message?: string };
  return body.errorMessage ?? body.Message ?? "";
};

describe("a host without admin keys, embedded in another program", () => {
  it("refuses a deployment handed to host.fetch, whatever the request claims, and keeps nothing of it", async () => {
    const dataDir = await tempDir("wfn-trust-");
    const host = await createHost({ functions: [hello], dataDir, cacheDir: CACHE_DIR, executors: 1, log: () => {} });
    try {
      const response = await host.fetch(new Request("http://public.example/_wfn/deployments", { method: "POST", body: upload("evil"), headers: { "x-forwarded-for": "203.0.113.50" } }));
      expect(response.status).toBe(403);
      expect(await errorMessage(response)).toContain("cannot tell where this request came from");
      expect((await host.fetch(new Request("http://public.example/_wfn/functions/hello"))).status).toBe(403);
      expect(host.function("evil")).toBeUndefined();
      // Its functions still answer.
      expect((await host.fetch(new Request("http://public.example/"))).status).toBe(200);
    } finally {
      await host.close();
    }
    // Nothing was persisted either.
    const again = await createHost({ dataDir, cacheDir: CACHE_DIR, executors: 1, log: () => {} });
    try {
      expect(again.function("evil")).toBeUndefined();
    } finally {
      await again.close();
    }
  });

  it("refuses keyless admin requests that arrive on a Unix socket", async () => {
    const dir = await tempDir("wfn-socket-");
    const host = await createHost({ functions: [hello], cacheDir: CACHE_DIR, executors: 1, log: () => {} });
    const socketPath = join(dir, "wfn.sock");
    const server = createServer(getRequestListener(host.app.fetch));
    await new Promise<void>((resolve) => server.listen(socketPath, resolve));
    const dispatcher = new Agent({ connect: { socketPath } });
    try {
      const response = await undiciFetch("http://localhost/_wfn/functions", { dispatcher });
      expect(response.status).toBe(403);
      expect((await undiciFetch("http://localhost/", { dispatcher })).status).toBe(200);
    } finally {
      await dispatcher.close();
      await new Promise<void>((resolve) => server.close(() => resolve()));
      await host.close();
    }
  });

  it("trusts what the embedder hands it when told to with admin.trustUnauthenticated", async () => {
    const host = await createHost({ functions: [hello], cacheDir: CACHE_DIR, executors: 1, log: () => {}, admin: { trustUnauthenticated: true } });
    try {
      expect((await host.fetch(new Request("http://embedded/_wfn/functions"))).status).toBe(200);
      // But never a function's own request.
      expect((await host.fetch(new Request("http://embedded/_wfn/functions", { headers: { "x-wfn-guest": "fetcher" } }))).status).toBe(403);
    } finally {
      await host.close();
    }
  });
});

describe("a function on a host without admin keys", () => {
  it("cannot read or change other functions through the admin API, whatever its allow-list", async () => {
    const app = await startHost({ dir: HOSTILE_BUILD });
    const viaGuest = async (target: string, init: RequestInit = {}) =>
      (await (await app.get(`/fetch?url=${encodeURIComponent(app.url + target)}`, init)).json()) as { status: number; body: string };
    const read = await viaGuest("/_wfn/functions/snoop");
    expect(read.status).toBe(403);
    expect(read.body).not.toContain("VISIBLE");
    expect(read.body).toContain("functions may not call the admin API");
    const deploy = await viaGuest("/_wfn/queues", { method: "POST", body: "{}" });
    expect(deploy.status).toBe(403);
    // Functions may still call functions.
    expect((await viaGuest("/good")).status).toBe(200);
    // The same request from the machine itself is answered.
    expect((await app.get("/_wfn/functions/snoop")).status).toBe(200);
  });
});

describe("a host without admin keys behind a reverse proxy on the same machine", () => {
  it("refuses admin requests the proxy forwards, and answers direct ones", async () => {
    const app = await startHost({ functions: [hello, lambdaApi] });
    const proxy = await startProxy(app.url, { clientAddress: "203.0.113.50" });
    try {
      const forwarded = await fetch(`${proxy.url}/_wfn/functions`);
      expect(forwarded.status).toBe(403);
      expect(await errorMessage(forwarded)).toContain("forwarded by a proxy");
      expect((await fetch(`${proxy.url}/_wfn/deployments`, { method: "POST", body: upload("evil") })).status).toBe(403);
      expect(app.host.function("evil")).toBeUndefined();
      expect((await app.get("/_wfn/functions")).status).toBe(200);
      // Untrusted, the proxy's claims are ignored: the function sees the proxy's address.
      const seen = (await (await fetch(`${proxy.url}/lambda`)).json()) as { sourceIp: string };
      expect(seen.sourceIp).toBe("127.0.0.1");
    } finally {
      await proxy.close();
    }
  });

  it("with trustProxy, takes the client's address from the proxy: remote clients are refused, local ones answered", async () => {
    const app = await startHost({ functions: [hello, lambdaApi], trustProxy: true });
    const remote = await startProxy(app.url, { clientAddress: "203.0.113.50" });
    const local = await startProxy(app.url, { clientAddress: "127.0.0.1" });
    try {
      expect((await fetch(`${remote.url}/_wfn/functions`)).status).toBe(403);
      // A client that claims to be local is not believed: the proxy names the client it saw, last.
      expect((await fetch(`${remote.url}/_wfn/functions`, { headers: { "x-forwarded-for": "127.0.0.1" } })).status).toBe(403);
      expect((await fetch(`${local.url}/_wfn/functions`)).status).toBe(200);
      const seen = (await (await fetch(`${remote.url}/lambda`)).json()) as { sourceIp: string };
      expect(seen.sourceIp).toBe("203.0.113.50");
    } finally {
      await remote.close();
      await local.close();
    }
  });
});

describe("wfn serve without an admin key", () => {
  it("makes a key for its run: a proxy that adds no headers gets nothing, wfn commands on the machine use the key", async () => {
    const stateDir = await tempDir("wfn-state-");
    const env = { WFN_STATE_DIR: stateDir };
    const serving = startWfn(["serve", join(ROOT, "examples", "hello"), "--port", "0", "--no-build", "--data-dir", await tempDir("wfn-data-")], { env });
    try {
      const [, url, port] = await serving.waitFor(/serving 1 function on (http:\/\/127\.0\.0\.1:(\d+))/);
      await serving.waitFor(/admin API \(\/_wfn\/\): key for this run in (\S+);/);
      const keyFile = join(stateDir, "hosts", `${port}.key`);
      const key = (await readFile(keyFile, "utf8")).trim();
      expect(key).toMatch(/^[0-9a-f]{64}$/);
      // A proxy passing requests on verbatim, as nginx does by default.
      const proxy = await startProxy(url!);
      try {
        expect((await fetch(`${proxy.url}/_wfn/functions`)).status).toBe(401);
        expect((await fetch(`${proxy.url}/_wfn/deployments`, { method: "POST", body: upload("evil") })).status).toBe(401);
        expect((await fetch(`${proxy.url}/`)).status).toBe(200);
      } finally {
        await proxy.close();
      }
      expect((await fetch(`${url}/_wfn/functions`)).status).toBe(401);
      expect((await fetch(`${url}/_wfn/functions`, { headers: { authorization: `Bearer ${key}` } })).status).toBe(200);
      const listed = await wfn(["ls", "--host", url!], { env });
      expect(listed.stderr).toBe("");
      expect(listed.stdout).toContain("hello");
      expect(listed.code).toBe(0);
      expect(await serving.stop()).toBe(0);
      expect(existsSync(keyFile)).toBe(false);
    } finally {
      await serving.stop();
    }
  });
});

describe("functions with auth: key", () => {
  const KEY = "invoke-key-0123456789abcdef";
  const invoke = (url: string, target: string, headers: Record<string, string> = {}, query = "") =>
    fetch(`${url}/2015-03-31/functions/${target}/invocations${query}`, { method: "POST", body: "{}", headers });

  it("need a key for every version they may run, whatever version serves the traffic", async () => {
    const pub = { ...hello, manifest: { ...hello.manifest, name: "pub", config: { ...hello.manifest.config, routes: ["GET /pub"] } } };
    const app = await startHost({ functions: [pub], invokeKeys: [KEY] });
    await app.host.setAlias("pub", "live", { version: 1 });
    await app.host.setTraffic("pub", "live");
    await app.host.updateConfiguration("pub", { auth: "key" });
    // Version 2 needs a key, also when named directly while the traffic alias points at version 1.
    const direct = await invoke(app.url, "pub:2");
    expect(direct.status).toBe(401);
    expect(direct.headers.get("x-amzn-errortype")).toBe("UnrecognizedClientException");
    expect((await invoke(app.url, "pub", {}, "?Qualifier=2")).status).toBe(401);
    expect((await invoke(app.url, "pub")).status).toBe(401); // $LATEST is version 2
    expect((await invoke(app.url, "pub:2", { authorization: `Bearer ${KEY}` })).status).toBe(200);
    expect((await invoke(app.url, "pub:live")).status).toBe(200);
    expect((await app.get("/pub")).status).toBe(200);
    // A canary of the keyed version makes the alias need a key, for every request (not for a random share).
    await app.host.setAlias("pub", "live", { version: 1, canary: { version: 2, weight: 0.1 } });
    const statuses = await Promise.all(Array.from({ length: 20 }, async () => (await app.get("/pub")).status));
    expect(statuses).toEqual(Array(20).fill(401));
    expect((await invoke(app.url, "pub:live")).status).toBe(401);
  });

  it("do not let a caller without a key tell which functions exist", async () => {
    const secure = { ...hello, manifest: { ...hello.manifest, name: "secure", config: { ...hello.manifest.config, routes: ["GET /secure"], auth: "key" as const } } };
    const app = await startHost({ functions: [hello, secure], invokeKeys: [KEY] });
    const existing = await invoke(app.url, "secure");
    const missing = await invoke(app.url, "secret-project");
    expect(existing.status).toBe(401);
    expect(missing.status).toBe(401);
    expect((await errorMessage(existing)).replace("secure", "X")).toBe((await errorMessage(missing)).replace("secret-project", "X"));
    const wrong = { authorization: "Bearer wrong-key-0123456789abc" };
    expect((await errorMessage(await invoke(app.url, "secure", wrong))).replace("secure", "X")).toBe(
      (await errorMessage(await invoke(app.url, "secret-project", wrong))).replace("secret-project", "X"),
    );
    // With a key, a missing function is reported as such; public functions need none.
    expect((await invoke(app.url, "secret-project", { authorization: `Bearer ${KEY}` })).status).toBe(404);
    expect((await invoke(app.url, "hello")).status).toBe(200);
  });

  it("are named in a warning when the host has no keys to invoke them with", async () => {
    const secure = { ...hello, manifest: { ...hello.manifest, name: "secure", config: { ...hello.manifest.config, auth: "key" as const } } };
    const logs: LogRecord[] = [];
    const host = await createHost({ functions: [secure], cacheDir: CACHE_DIR, executors: 1, log: (record) => logs.push(record) });
    try {
      expect(logs.some((r) => r.level === "warn" && r.message.includes('function secure has "auth": "key" but this host has no invoke or admin keys'))).toBe(true);
    } finally {
      await host.close();
    }
  });
});

describe("the Invoke API", () => {
  it("refuses a malformed Qualifier with Lambda's ValidationException", async () => {
    const app = await startHost({ functions: [hello] });
    const response = await fetch(`${app.url}/2015-03-31/functions/hello/invocations?Qualifier=${encodeURIComponent("../../x")}`, { method: "POST", body: "{}" });
    expect(response.status).toBe(400);
    expect(response.headers.get("x-amzn-errortype")).toBe("ValidationException");
    const long = await fetch(`${app.url}/2015-03-31/functions/hello/invocations?Qualifier=${"a".repeat(129)}`, { method: "POST", body: "{}" });
    expect(long.status).toBe(400);
  });
});
