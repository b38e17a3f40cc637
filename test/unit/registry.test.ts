// The registry's planning on its own: versions, aliases with canaries,
// traffic, rollbacks and deletions are planned as changes and applied, with
// no store and no host. A plan that is refused changes nothing.
import { describe, expect, it } from "vitest";
import { MANIFEST_VERSION, WORLD, type Manifest } from "../../runtime/src/artifact/manifest.js";
import { resolveFunctionConfig, type FunctionConfigInput } from "../../runtime/src/config/function-config.js";
import { LATEST, Registry } from "../../runtime/src/deploy/registry.js";

function manifest(name: string, sha256: string, config: Partial<FunctionConfigInput> = {}): Manifest {
  return {
    manifestVersion: MANIFEST_VERSION,
    name,
    world: WORLD,
    engine: { name: "starlingmonkey", version: "test" },
    sdkVersion: "0.1.0",
    component: { file: "component.wasm", sha256, size: 1 },
    config: resolveFunctionConfig({ entry: "index.js", ...config }),
  } as Manifest;
}

/** Plans and applies a deployment of `name` with this component hash; returns what it did. */
function deploy(registry: Registry, name: string, sha256: string, config?: Partial<FunctionConfigInput>) {
  const { change, results } = registry.planDeploy([{ manifest: manifest(name, sha256, config), component: new Uint8Array() }], 1_000);
  registry.apply(change);
  return results[0]!;
}

describe("Registry planning", () => {
  it("makes version 1 of a new function, a new version for changed code or configuration, none for an identical upload", () => {
    const registry = new Registry();
    expect(deploy(registry, "api", "a")).toMatchObject({ from: undefined, to: 1, changed: true });
    expect(deploy(registry, "api", "a")).toMatchObject({ from: 1, to: 1, changed: false });
    expect(deploy(registry, "api", "b")).toMatchObject({ from: 1, to: 2, changed: true });
    expect(deploy(registry, "api", "b", { memoryMB: 256 })).toMatchObject({ from: 2, to: 3, changed: true });
    expect(registry.resolve("api", undefined)).toMatchObject({ executedVersion: LATEST, version: { version: 3 } });
    expect(registry.resolve("api", "1").version.manifest.component.sha256).toBe("a");
  });

  it("splits an alias between its version and its canary by weight", () => {
    const registry = new Registry();
    deploy(registry, "api", "a");
    deploy(registry, "api", "b");
    registry.apply(registry.planAlias("api", "live", 1, { version: 2, weight: 0.25 }, undefined, 2_000));
    expect(registry.resolve("api", "live", () => 0.2).version.version).toBe(2);
    expect(registry.resolve("api", "live", () => 0.3).version.version).toBe(1);
    expect(registry.designated("api", "live")!.map((v) => v.version)).toEqual([1, 2]);
    expect(registry.referenced(registry.get("api")!)).toEqual(new Set([2, 1]));
  });

  it("refuses aliases that could not work", () => {
    const registry = new Registry();
    deploy(registry, "api", "a");
    deploy(registry, "api", "b");
    expect(() => registry.planAlias("api", "7", 1, undefined, undefined, 0)).toThrow(/not a valid alias name/);
    expect(() => registry.planAlias("api", "live", 9, undefined, undefined, 0)).toThrow(expect.objectContaining({ code: "WFN_FUNCTION_NOT_FOUND" }));
    expect(() => registry.planAlias("api", "live", 1, { version: 1, weight: 0.5 }, undefined, 0)).toThrow(/must differ/);
    expect(() => registry.planAlias("api", "live", 1, { version: 2, weight: 1 }, undefined, 0)).toThrow(/between 0 and 1/);
    expect(registry.get("api")!.aliases.size).toBe(0);
  });

  it("rolls $LATEST back to the version before, and an alias with a canary back to its version alone", () => {
    const registry = new Registry();
    deploy(registry, "api", "a");
    deploy(registry, "api", "b");
    const latest = registry.planRollback("api", undefined, 3_000);
    expect(latest).toMatchObject({ qualifier: LATEST, from: 2, to: 1 });
    registry.apply(latest.change);
    expect(registry.resolve("api", undefined).version.version).toBe(1);
    expect(() => registry.planRollback("api", undefined, 0)).toThrow(/no version before 1/);

    registry.apply(registry.planAlias("api", "live", 1, { version: 2, weight: 0.1 }, undefined, 4_000));
    registry.apply(registry.planTraffic("api", "live", 4_000));
    const canary = registry.planRollback("api", undefined, 5_000);
    expect(canary).toMatchObject({ qualifier: "live", from: 1, to: 1 });
    registry.apply(canary.change);
    expect(registry.get("api")!.aliases.get("live")!.routing).toBeUndefined();
  });

  it("refuses to delete a version something points at, and sends traffic back to $LATEST when its alias goes", () => {
    const registry = new Registry();
    deploy(registry, "api", "a");
    deploy(registry, "api", "b");
    registry.apply(registry.planAlias("api", "stable", 1, undefined, undefined, 0));
    registry.apply(registry.planTraffic("api", "stable", 0));
    expect(() => registry.planDeleteVersion("api", 1)).toThrow(/in use by stable/);
    expect(() => registry.planDeleteVersion("api", 2)).toThrow(/in use by \$LATEST/);
    registry.apply(registry.planDeleteAlias("api", "stable", 0));
    expect(registry.get("api")!.record.traffic).toBe(LATEST);
    registry.apply(registry.planDeleteVersion("api", 1));
    expect([...registry.get("api")!.versions.keys()]).toEqual([2]);
  });

  it("plans on a clone without touching the original", () => {
    const registry = new Registry();
    deploy(registry, "api", "a");
    const copy = registry.clone();
    deploy(copy, "api", "b");
    expect(registry.get("api")!.record.latest).toBe(1);
    expect(copy.get("api")!.record.latest).toBe(2);
  });
});
