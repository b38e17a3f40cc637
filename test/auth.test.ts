// Keys: the admin API needs an admin key (or, without keys, a client on the
// same machine); functions with "auth": "key" need an invoke or admin key,
// on their routes and through the Invoke API.
import { networkInterfaces } from "node:os";
import { join } from "node:path";
import { beforeAll, describe, expect, it } from "vitest";
import { createHost, readArtifact, serve, silentSink, type Artifact } from "@wfn/runtime";
import { startHost, type TestHost } from "./helpers/host.js";
import { CACHE_DIR, HELLO_BUILD } from "./helpers/paths.js";

const ADMIN = "admin-key-0123456789abcdef";
const INVOKE = "invoke-key-0123456789abcdef";
let hello: Artifact;
let secure: Artifact;
let app: TestHost;

const bearer = (key: string) => ({ authorization: `Bearer ${key}` });

beforeAll(async () => {
  hello = await readArtifact(join(HELLO_BUILD, "hello"));
  const config = { ...hello.manifest.config, routes: ["GET /secure"], auth: "key" as const };
  secure = { ...hello, manifest: { ...hello.manifest, name: "secure", config } };
  app = await startHost({ functions: [hello, secure], adminKeys: [ADMIN], invokeKeys: [INVOKE], maxUploadBytes: 64 * 1024 });
});

describe("functions with auth: key", () => {
  it("need an invoke or admin key on their routes", async () => {
    const missing = await app.get("/secure");
    expect(missing.status).toBe(401);
    expect(await missing.json()).toMatchObject({ errorType: "UnrecognizedClientException", errorMessage: "function secure needs a key: send Authorization: Bearer <key>" });
    expect((await app.get("/secure", { headers: bearer("wrong-key-0123456789") })).status).toBe(401);
    expect((await app.get("/secure", { headers: bearer(INVOKE) })).status).toBe(200);
    expect((await app.get("/secure", { headers: bearer(ADMIN) })).status).toBe(200);
    // A function without auth stays public.
    expect((await app.get("/")).status).toBe(200);
  });

  it("need a key through the Invoke API", async () => {
    const invoke = (headers: Record<string, string> = {}) => app.get("/2015-03-31/functions/secure/invocations", { method: "POST", body: "{}", headers });
    const refused = await invoke();
    expect(refused.status).toBe(401);
    expect(refused.headers.get("x-amzn-errortype")).toBe("UnrecognizedClientException");
    expect((await invoke(bearer(INVOKE))).status).toBe(200);
    expect((await app.get("/2015-03-31/functions/hello/invocations", { method: "POST", body: "{}" })).status).toBe(200);
  });
});

describe("the admin API", () => {
  it("needs an admin key; an invoke key is not one", async () => {
    expect((await app.get("/_wfn/functions")).status).toBe(401);
    expect((await app.get("/_wfn/functions", { headers: bearer(INVOKE) })).status).toBe(401);
    expect((await app.get("/_wfn/functions", { headers: bearer(ADMIN) })).status).toBe(200);
    expect((await app.get("/_wfn/queues/none/messages", { method: "POST", body: '{"body":"x"}' })).status).toBe(401);
    expect((await app.get("/_wfn/metrics")).status).toBe(401);
  });

  it("leaves liveness, readiness and the storage webhook (which has its own secret) open", async () => {
    expect((await app.get("/_wfn/health")).status).toBe(200);
    const ready = await app.get("/_wfn/ready");
    expect(ready.status).toBe(200);
    expect(await ready.json()).toMatchObject({ status: "ready" });
    const webhook = await app.get("/_wfn/events/storage/hello", { method: "POST", body: "{}" });
    expect(webhook.status).toBe(401);
    expect(((await webhook.json()) as { errorMessage: string }).errorMessage).toBe("missing or wrong storage trigger secret");
  });

  it("refuses an upload over the size limit before reading it all", async () => {
    const form = new FormData();
    form.append("hello/manifest.json", new Blob([JSON.stringify(hello.manifest)]), "manifest.json");
    form.append("hello/component.wasm", new Blob([hello.component as BlobPart]), "component.wasm");
    const response = await app.get("/_wfn/deployments", { method: "POST", body: form, headers: bearer(ADMIN) });
    expect(response.status).toBe(413);
    expect(((await response.json()) as { errorMessage: string }).errorMessage).toBe("the upload is larger than this host's limit of 65536 bytes");
  });
});

describe("a host without admin keys", () => {
  const external = Object.values(networkInterfaces())
    .flat()
    .find((address) => address !== undefined && address.family === "IPv4" && !address.internal)?.address;

  it.skipIf(external === undefined)("answers its admin API on loopback only", async () => {
    const host = await createHost({ functions: [hello], cacheDir: CACHE_DIR, executors: 1, log: silentSink });
    const server = await serve(host, { port: 0, hostname: "0.0.0.0" });
    try {
      expect((await fetch(`http://127.0.0.1:${server.port}/_wfn/functions`)).status).toBe(200);
      const remote = await fetch(`http://${external}:${server.port}/_wfn/functions`);
      expect(remote.status).toBe(403);
      expect(((await remote.json()) as { errorMessage: string }).errorMessage).toContain("answers only clients on the same machine; start it with --admin-key");
      // Functions themselves answer everyone.
      expect((await fetch(`http://${external}:${server.port}/`)).status).toBe(200);
      // A request handed to host.fetch has no known origin: not trusted (see test/hostile/trust.test.ts).
      expect((await host.fetch(new Request("http://embedded/_wfn/functions"))).status).toBe(403);
    } finally {
      await server.close();
    }
  });
});
