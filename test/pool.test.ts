// Instances: warm reuse, pre-warming, concurrency caps, swapping versions.
import { beforeAll, describe, expect, it } from "vitest";
import { join } from "node:path";
import type { EventValue } from "@wfn/sdk/abi";
import { readArtifact } from "@wfn/runtime";
import { APP_BUILD } from "./helpers/paths.js";
import { startHost, type TestHost } from "./helpers/host.js";

let app: TestHost;

const get = (path: string): EventValue => ({ tag: "http", val: { method: "GET", url: `http://test${path}`, headers: [], body: new Uint8Array(0), route: undefined, remoteAddress: undefined } });
const json = (result: Awaited<ReturnType<TestHost["host"]["dispatch"]>>) => {
  if (result.status !== "ok" || result.outcome.tag !== "http") throw new Error(`unexpected result ${result.status}`);
  return JSON.parse(new TextDecoder().decode(result.outcome.val.body)) as Record<string, unknown>;
};

beforeAll(async () => {
  app = await startHost({ dir: APP_BUILD });
});

describe("pre-warming and reuse", () => {
  it("starts minInstances before the first request, so it is not a cold start", async () => {
    const before = app.host.functions().find((fn) => fn.name === "warm")!;
    expect(before.instances).toEqual({ total: 2, idle: 2, busy: 0, starting: 0 });
    const result = await app.host.dispatch("warm", get("/warm"));
    expect(result.coldStart).toBe(false);
    expect(result.initMs).toBeUndefined();
  });

  it("cold-starts a function with no warm instance, then reuses it", async () => {
    const first = await app.host.dispatch("env-b", get("/env/b"));
    const second = await app.host.dispatch("env-b", get("/env/b"));
    expect(first.coldStart).toBe(true);
    expect(first.initMs).toBeGreaterThan(0);
    expect(second.coldStart).toBe(false);
  });

  it("keeps module state across calls on one instance", async () => {
    const a = json(await app.host.dispatch("warm", get("/warm")));
    const b = json(await app.host.dispatch("warm", get("/warm")));
    expect(b.instance).toBe(a.instance);
    expect(b.calls).toBe((a.calls as number) + 1);
  });

  it("never runs more instances than maxConcurrency, and queues the rest", async () => {
    const results = await Promise.all(Array.from({ length: 8 }, () => app.host.dispatch("warm", get("/warm"))));
    const instances = new Set(results.map((r) => json(r).instance));
    expect(results.every((r) => r.status === "ok")).toBe(true);
    expect(instances.size).toBeLessThanOrEqual(2);
    expect(app.host.functions().find((fn) => fn.name === "warm")!.instances.total).toBe(2);
  });

  it("gives each instance its own randomness, even though they start from one snapshot", async () => {
    // Concurrent calls until both of warm's instances (maxConcurrency 2) have answered, whatever ran before.
    const randomOf = new Map<unknown, unknown>();
    for (let round = 0; round < 20 && randomOf.size < 2; round++) {
      const bodies = (await Promise.all(Array.from({ length: 8 }, () => app.host.dispatch("warm", get("/warm"))))).map(json);
      for (const body of bodies) {
        // An instance keeps the number it drew first.
        if (randomOf.has(body.instance)) expect(body.random).toBe(randomOf.get(body.instance));
        randomOf.set(body.instance, body.random);
      }
    }
    expect(randomOf.size).toBe(2);
    const [first, second] = [...randomOf.values()];
    expect(first).not.toBe(second);
  });
});

describe("direct invocation", () => {
  it("passes a JSON payload and returns the handler's result as JSON", async () => {
    const result = await app.host.invoke("echo", { order: 7, items: ["a"] });
    expect(result.status).toBe("ok");
    if (result.status !== "ok" || result.outcome.tag !== "payload") throw new Error("expected a payload");
    expect(JSON.parse(new TextDecoder().decode(result.outcome.val))).toEqual({
      received: { order: 7, items: ["a"] },
      requestId: result.requestId,
      functionName: "echo",
    });
  });

  it("says which function does not exist", async () => {
    await expect(app.host.invoke("nope", {})).rejects.toMatchObject({ code: "WFN_FUNCTION_NOT_FOUND" });
  });
});

describe("deploying a new version", () => {
  it("makes no new version when neither code nor configuration changed", async () => {
    // Whatever earlier tests deployed, the same upload twice makes at most one version.
    const first = await app.host.deploy(join(APP_BUILD, "echo"));
    const again = await app.host.deploy(join(APP_BUILD, "echo"));
    expect(again.latestVersion).toBe(first.latestVersion);
    expect(app.host.versions("echo").at(-1)!.version).toBe(first.latestVersion);
  });

  it("swaps versions without dropping in-flight requests", async () => {
    const slow = app.get("/echo/wait?ms=600");
    await new Promise((resolve) => setTimeout(resolve, 150));
    const echo = await readArtifact(join(APP_BUILD, "echo"));
    const config = { ...echo.manifest.config, env: { ...echo.manifest.config.env, DEPLOYED: "again" } };
    const status = await app.host.deploy({ ...echo, manifest: { ...echo.manifest, config } });
    expect(status.state).toBe("Active");
    expect(status.latestVersion).toBe(2);
    expect(app.host.versions("echo").map((v) => [v.version, v.qualifiers])).toEqual([
      [1, []],
      [2, ["$LATEST"]],
    ]);
    const response = await slow;
    expect(response.status).toBe(200);
    expect(await response.json()).toMatchObject({ waited: 600 });
    const fresh = (await (await app.get("/echo/count")).json()) as { calls: number };
    expect(fresh.calls).toBe(1);
  });
});
