// Configuration rules that need no component: routes, limits, the error table.
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { capabilitySchema } from "../../runtime/src/capabilities/config.js";
import { FUNCTION_NAME_PATTERN } from "../../runtime/src/config/names.js";
import { ROOT } from "../helpers/paths.js";
import {
  checkFunctionConfig,
  errorKind,
  isOutboundAllowed,
  parseOutboundRules,
  parseRoute,
  resolveFunctionConfig,
  RouteTable,
  validateProjectDocument,
  WfnError,
} from "../../runtime/src/index.js";

describe("parseRoute", () => {
  it("reads a method and a path, or a path for every method", () => {
    expect(parseRoute("GET /hello")).toEqual({ method: "GET", path: "/hello", source: "GET /hello" });
    expect(parseRoute("post  /items/:id")).toMatchObject({ method: "POST", path: "/items/:id" });
    expect(parseRoute("/api/*")).toMatchObject({ method: "ALL", path: "/api/*" });
  });

  it("explains what is wrong", () => {
    expect(parseRoute("FETCH /x")).toMatch(/unknown method "FETCH"/);
    expect(parseRoute("GET hello")).toMatch(/must start with "\/"/);
    expect(parseRoute("/_wfn/health")).toMatch(/reserved for the host/);
    expect(parseRoute("POST /2015-03-31/functions")).toMatch(/reserved/);
    expect(parseRoute("GET / extra")).toMatch(/METHOD \/path/);
  });
});

describe("function configuration", () => {
  it("fills in defaults", () => {
    expect(resolveFunctionConfig({ entry: "src/a.ts" })).toEqual({
      entry: "src/a.ts",
      routes: [],
      env: {},
      memoryMB: 128,
      timeoutMs: 3000,
      minInstances: 0,
      maxConcurrency: 10,
      isolation: "instance",
      allowedOutboundHosts: [],
      style: "auto",
      async: { maximumRetryAttempts: 2, maximumEventAgeSeconds: 21_600 },
      auth: "none",
      kv: [],
    });
  });

  it("refuses more warm instances than the concurrency allows", () => {
    const problems = checkFunctionConfig(resolveFunctionConfig({ entry: "a.ts", minInstances: 5, maxConcurrency: 2 }));
    expect(problems).toEqual([{ field: "minInstances", message: "minInstances (5) cannot exceed maxConcurrency (2)" }]);
  });

  it("validates wfn.json against the published schema", () => {
    expect(validateProjectDocument({ functions: { a: { entry: "x.ts" } } })).toEqual([]);
    expect(validateProjectDocument({ functions: {} })).toEqual([{ path: "functions", message: "must have at least 1 entry" }]);
    expect(validateProjectDocument({ functions: { a: { entry: "x.ts", env: { "1BAD": "x" } } } })).toEqual([
      { path: "functions.a.env", message: '"1BAD" is not a valid name (must match ^[A-Za-z_][A-Za-z0-9_]*$)' },
    ]);
  });
});

describe("allowedOutboundHosts", () => {
  it("explains a malformed entry", () => {
    const problems = checkFunctionConfig(resolveFunctionConfig({ entry: "a.ts", allowedOutboundHosts: ["example.com", "https://a.*.com", "https://ok.example.com"] }));
    expect(problems).toEqual([
      { field: "allowedOutboundHosts[0]", message: expect.stringContaining("is not scheme://host[:port]") },
      { field: "allowedOutboundHosts[1]", message: expect.stringContaining('a wildcard host is "*" or starts with "*."') },
    ]);
  });

  it("matches scheme, host wildcards and ports", () => {
    const rules = parseOutboundRules(["https://api.example.com", "https://*.cdn.example", "http://127.0.0.1:*", "*://localhost:8080"]);
    const allowed = (url: string) => isOutboundAllowed(new URL(url), rules);
    expect(allowed("https://api.example.com/v1")).toBe(true);
    expect(allowed("https://api.example.com:443/v1")).toBe(true);
    expect(allowed("http://api.example.com/v1")).toBe(false);
    expect(allowed("https://api.example.com:8443/")).toBe(false);
    expect(allowed("https://img.cdn.example/")).toBe(true);
    expect(allowed("https://cdn.example/")).toBe(false);
    expect(allowed("https://evilcdn.example/")).toBe(false);
    expect(allowed("http://127.0.0.1:9999/")).toBe(true);
    expect(allowed("https://localhost:8080/")).toBe(true);
    expect(allowed("http://localhost/")).toBe(false);
    expect(allowed("file:///etc/passwd")).toBe(false);
  });
});

describe("md5 (for SQS md5OfBody, computed inside the guest)", () => {
  it("matches Node's implementation", async () => {
    const { md5Hex } = await import("../../sdk/src/guest/md5.js");
    const { createHash } = await import("node:crypto");
    for (const text of ["", "a", "Test message.", "é€😀", "x".repeat(1000)]) {
      expect(md5Hex(text)).toBe(createHash("md5").update(text).digest("hex"));
    }
  });
});

describe("routing", () => {
  it("matches methods, parameters and wildcards", () => {
    const table = new RouteTable([
      { name: "a", routes: ["GET /", "POST /items/:id"] },
      { name: "b", routes: ["/api/*"] },
    ]);
    expect(table.match("GET", "/")).toMatchObject({ name: "a" });
    expect(table.match("HEAD", "/")).toMatchObject({ name: "a" });
    expect(table.match("POST", "/items/7")).toEqual({ name: "a", route: "POST /items/:id", params: { id: "7" } });
    expect(table.match("DELETE", "/api/x/y")).toMatchObject({ name: "b" });
    expect(table.match("GET", "/items/7")).toBeUndefined();
  });

  it("prefers the more specific route whichever function came first, and encoded parameters stay as sent", () => {
    const table = new RouteTable([
      { name: "catch-all", routes: ["/*"] },
      { name: "items", routes: ["GET /items/:id", "GET /items/:id/parts/:part"] },
      { name: "other", routes: ["/other"] },
    ]);
    expect(table.match("GET", "/other")).toMatchObject({ name: "other" });
    expect(table.match("GET", "/items/a%20b/parts/2")).toEqual({ name: "items", route: "GET /items/:id/parts/:part", params: { id: "a%20b", part: "2" } });
    expect(table.match("POST", "/items/7")).toMatchObject({ name: "catch-all" });
    expect(table.match("GET", "/nothing/here")).toMatchObject({ name: "catch-all" });
  });

  it("routes each of 5,000 functions to its own path", () => {
    const table = new RouteTable(Array.from({ length: 5000 }, (_, i) => ({ name: `f${i}`, routes: [`/f/${i}/*`, `GET /g/${i}/:id`] })));
    for (let i = 0; i < 5000; i += 7) {
      expect(table.match("GET", `/f/${i}/x/y`)?.name).toBe(`f${i}`);
      expect(table.match("GET", `/g/${i}/z`)).toEqual({ name: `f${i}`, route: `GET /g/${i}/:id`, params: { id: "z" } });
    }
    expect(table.match("GET", "/f/5000/x")).toBeUndefined();
  });

  it("refuses two functions claiming the same route", () => {
    expect(() => new RouteTable([{ name: "a", routes: ["GET /x"] }, { name: "b", routes: ["get /x"] }])).toThrow(/already served by function "a"/);
  });
});

describe("errors", () => {
  it("map each code to one HTTP status and one Lambda type", () => {
    expect(errorKind("WFN_THROTTLED")).toMatchObject({ status: 429, lambdaType: "TooManyRequestsException" });
    expect(errorKind("WFN_TIMED_OUT")).toMatchObject({ status: 504, lambdaType: "Sandbox.Timedout" });
    const error = new WfnError("WFN_PAYLOAD_TOO_LARGE");
    expect([error.status, error.lambdaType, error.message]).toEqual([413, "RequestEntityTooLargeException", "Request payload too large"]);
  });
});

describe("the function-name rule", () => {
  /** Every `pattern` in a JSON document, with where it is. */
  function patterns(value: unknown, at = "$", found: Array<[string, string]> = []): Array<[string, string]> {
    if (Array.isArray(value)) value.forEach((item, i) => patterns(item, `${at}[${i}]`, found));
    else if (typeof value === "object" && value !== null) {
      for (const [key, item] of Object.entries(value)) {
        if (key === "pattern" && typeof item === "string") found.push([at, item]);
        else patterns(item, `${at}.${key}`, found);
      }
    }
    return found;
  }

  it("is the same in the JSON Schema and the OpenAPI document as in the code", () => {
    for (const file of ["runtime/schema/wfn.schema.json", "docs/openapi.json"]) {
      // Function names are the patterns with {1,64}, but for the capabilities' own fields (kv namespaces).
      const capabilityFields = Object.keys(capabilitySchema()).map((field) => `.properties.${field}.`);
      const names = patterns(JSON.parse(readFileSync(join(ROOT, file), "utf8"))).filter(([at, pattern]) => pattern.includes("{1,64}") && !capabilityFields.some((field) => at.includes(field)));
      expect(names.length, file).toBeGreaterThan(0);
      for (const [at, pattern] of names) expect(pattern, `${file} ${at}`).toBe(FUNCTION_NAME_PATTERN.source);
    }
  });

  it("takes what AWS Lambda takes for a bare name", () => {
    for (const name of ["a", "hello-world_2", "x".repeat(64)]) expect(FUNCTION_NAME_PATTERN.test(name)).toBe(true);
    for (const name of ["", "x".repeat(65), "a.b", "a/b", "a:b", "é"]) expect(FUNCTION_NAME_PATTERN.test(name)).toBe(false);
  });
});

describe("the capabilities' configuration", () => {
  it("ships in wfn.schema.json exactly as each capability declares it (the file editors read)", () => {
    const shipped = JSON.parse(readFileSync(join(ROOT, "runtime", "schema", "wfn.schema.json"), "utf8")) as { definitions: { function: { properties: Record<string, unknown> } } };
    for (const [field, schema] of Object.entries(capabilitySchema())) expect(shipped.definitions.function.properties[field], field).toEqual(JSON.parse(JSON.stringify(schema)));
  });

  it("ships the same wfn.schema.json in the SDK, where a project made by wfn init points its editor", () => {
    expect(readFileSync(join(ROOT, "sdk", "wfn.schema.json"), "utf8"), "sdk/wfn.schema.json is a copy: cp runtime/schema/wfn.schema.json sdk/").toBe(readFileSync(join(ROOT, "runtime", "schema", "wfn.schema.json"), "utf8"));
  });

  it("declares no key-value namespace by default, and refuses bad names in wfn.json", () => {
    expect(resolveFunctionConfig({ entry: "x.js" }).kv).toEqual([]);
    const problems = validateProjectDocument({ functions: { f: { entry: "x.js", kv: ["ok", "not ok!"] } } });
    expect(problems.map((p) => p.path)).toEqual(["functions.f.kv[1]"]);
    expect(checkFunctionConfig(resolveFunctionConfig({ entry: "x.js", kv: ["a", "a"] })).map((p) => p.message)).toEqual(["a namespace is listed twice"]);
  });
});
