// docs/openapi.json stays true: every route it documents is served, and
// every route the host serves under /_wfn/ is documented.
import { readFile } from "node:fs/promises";
import { join } from "node:path";
import { beforeAll, expect, it } from "vitest";
import { readArtifact } from "@wfn/runtime";
import { startHost, type TestHost } from "./helpers/host.js";
import { HELLO_BUILD, ROOT } from "./helpers/paths.js";

const ADMIN = "admin-key-0123456789abcdef";
let app: TestHost;
let documented: Array<{ method: string; path: string }>;

beforeAll(async () => {
  app = await startHost({ functions: [await readArtifact(join(HELLO_BUILD, "hello"))], adminKeys: [ADMIN] });
  const spec = JSON.parse(await readFile(join(ROOT, "docs", "openapi.json"), "utf8")) as { paths: Record<string, Record<string, unknown>> };
  documented = Object.entries(spec.paths).flatMap(([path, methods]) => Object.keys(methods).map((method) => ({ method: method.toUpperCase(), path })));
});

it("documents every /_wfn/ route the host serves", () => {
  const served = app.host.app.routes
    .filter((route) => route.path.startsWith("/_wfn/") && !route.path.endsWith("*") && route.method !== "ALL")
    .map((route) => `${route.method} ${route.path.replace(/:(\w+)/g, "{$1}")}`);
  const listed = documented.map((route) => `${route.method} ${route.path}`);
  // Path parameter names may differ; compare shapes.
  const shape = (route: string) => route.replace(/\{\w+\}/g, "{}");
  expect([...new Set(served.map(shape))].sort()).toEqual([...new Set(listed.map(shape))].sort());
});

it("serves every documented route (none answers 'No host route')", async () => {
  for (const { method, path } of documented) {
    const url = path.replace(/\{(\w+)\}/g, (_, name: string) => (name === "version" ? "1" : "nothing-here"));
    const response = await app.get(url, { method, headers: { authorization: `Bearer ${ADMIN}`, "content-type": "application/json" }, ...(method === "GET" || method === "DELETE" ? {} : { body: "{}" }) });
    const body = await response.text();
    expect(body, `${method} ${path}`).not.toContain("No host route");
    expect(response.status, `${method} ${path}: ${body}`).toBeLessThan(500);
  }
});
