// Bad artifacts are refused with a clear reason, and never take the host down.
import { createHash } from "node:crypto";
import { cp, mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, expect, it } from "vitest";
import { transpileCacheLevel } from "../runtime/dist/artifact/prepare.js";
import { APP_BUILD } from "./helpers/paths.js";
import { startHost, type TestHost } from "./helpers/host.js";

let dir: string;
let app: TestHost;
/** The transpile cache's folder for this version of the glue patches (older ones may sit beside it). */
const TRANSPILE_LEVEL = transpileCacheLevel();

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), "wfn-artifacts-"));
  await cp(APP_BUILD, dir, { recursive: true });
  // echo: one flipped byte in the component.
  const component = await readFile(join(dir, "echo", "component.wasm"));
  const middle = component.length >> 1;
  component[middle] = component[middle]! ^ 0xff;
  await writeFile(join(dir, "echo", "component.wasm"), component);
  // env-a: a valid core module (not a component) whose manifest hash matches.
  const core = Uint8Array.from([0x00, 0x61, 0x73, 0x6d, 0x01, 0x00, 0x00, 0x00]);
  await writeFile(join(dir, "env-a", "component.wasm"), core);
  const manifest = JSON.parse(await readFile(join(dir, "env-a", "manifest.json"), "utf8"));
  manifest.component.sha256 = createHash("sha256").update(core).digest("hex");
  manifest.component.size = core.byteLength;
  await writeFile(join(dir, "env-a", "manifest.json"), JSON.stringify(manifest));
  // warm: a manifest that is not JSON.
  await writeFile(join(dir, "warm", "manifest.json"), "{ not json");
  app = await startHost({ dir });
});

afterAll(() => rm(dir, { recursive: true, force: true }));

it("marks a corrupted component as failed, naming the hash mismatch", () => {
  const echo = app.host.functions().find((fn) => fn.name === "echo")!;
  expect(echo.state).toBe("Failed");
  expect(echo.stateReason).toMatch(/does not match the manifest/);
});

it("marks a module that is not a component as failed", () => {
  const envA = app.host.functions().find((fn) => fn.name === "env-a")!;
  expect(envA.state).toBe("Failed");
  expect(envA.stateReason).toMatch(/not a valid WebAssembly component/);
});

it("reports an unreadable manifest by its folder", () => {
  const failed = app.host.functions().filter((fn) => fn.state === "Failed").map((fn) => fn.stateReason ?? "");
  expect(failed.some((reason) => /warm[/\\]manifest\.json: not valid JSON/.test(reason))).toBe(true);
});

it("answers the failed function's routes with 503 and a reason", async () => {
  const response = await app.get("/echo/count");
  expect(response.status).toBe(503);
  expect(await response.json()).toMatchObject({ errorMessage: expect.stringContaining("function echo is not available") });
});

it("keeps serving the healthy functions", async () => {
  const response = await app.get("/env/b");
  expect(response.status).toBe(200);
  expect(await response.json()).toMatchObject({ env: { NAME: "b" } });
});

it("logs each failure once at start", () => {
  const errors = app.logs.filter((r) => r.level === "error" && /failed to load/.test(r.message));
  expect(errors).toHaveLength(3);
});

it("slims the glue jco-transpile generates (patches verified against the pinned version)", async () => {
  const { readdir } = await import("node:fs/promises");
  const { CACHE_DIR } = await import("./helpers/paths.js");
  const sha = JSON.parse(await readFile(join(dir, "env-b", "manifest.json"), "utf8")).component.sha256 as string;
  expect(await readdir(join(CACHE_DIR, "transpiled"))).toContain(TRANSPILE_LEVEL);
  const entry = join(CACHE_DIR, "transpiled", TRANSPILE_LEVEL, sha);
  const meta = JSON.parse(await readFile(join(entry, "meta.json"), "utf8"));
  expect(meta.patches).toMatchObject({
    applied: ["no-debug-log", "drop-debug-log-calls", "lean-sync-imports", "lean-suspending-imports", "lean-exports", "guard-core-calls"],
    missed: [],
  });
  const glue = await readFile(join(CACHE_DIR, "transpiled", TRANSPILE_LEVEL, "glue", `${meta.glue}.mjs`), "utf8");
  expect(glue).toContain("const _debugLog = () => {};");
  expect(glue).not.toContain("_lowerImportBackwardsCompat.bind(");
});

it("keeps one copy of what functions share: the glue by content, and no core module the component already holds", async () => {
  const { readdir } = await import("node:fs/promises");
  const { CACHE_DIR } = await import("./helpers/paths.js");
  const level = join(CACHE_DIR, "transpiled", TRANSPILE_LEVEL);
  const { readArtifacts } = await import("../runtime/dist/artifact/load.js");
  const { prepareComponent } = await import("../runtime/dist/artifact/prepare.js");
  const { artifacts } = await readArtifacts(APP_BUILD);
  const prepared: Array<Awaited<ReturnType<typeof prepareComponent>>> = [];
  for (const artifact of artifacts.filter((a) => ["echo", "env-b"].includes(a.manifest.name))) prepared.push(await prepareComponent(artifact, CACHE_DIR));
  // Their engine modules are the same bytes once the data is lifted: compiled once, held once; the images differ.
  const engine = (p: (typeof prepared)[number]) => p.modules.find(([name]) => name === "component.core.wasm")![1];
  expect(engine(prepared[0]!)).toBe(engine(prepared[1]!));
  expect(prepared[0]!.images[0]![1]).not.toBe(prepared[1]!.images[0]![1]);
  const metaOf = async (name: string) => {
    const sha = artifacts.find((a) => a.manifest.name === name)!.manifest.component.sha256;
    return { sha, meta: JSON.parse(await readFile(join(level, sha, "meta.json"), "utf8")) as { glue: string; embedded: Record<string, [number, number]>; coreModules: string[] } };
  };
  const [a, b] = [await metaOf("echo"), await metaOf("env-b")];
  expect(a.sha).not.toBe(b.sha);
  expect(a.meta.glue).toMatch(/^[0-9a-f]{64}$/);
  expect(b.meta.glue).toBe(a.meta.glue);
  // The entry holds what the component does not: here, nothing but its meta.
  const files = await readdir(join(level, b.sha));
  for (const name of b.meta.coreModules) expect(files.includes(name)).toBe(b.meta.embedded[name] === undefined);
  expect(files).not.toContain("component.mjs");
});

it("takes a cached component's core modules from the component itself, and transpiles again when the cache's record is wrong", async () => {
  const { CACHE_DIR } = await import("./helpers/paths.js");
  const sha = JSON.parse(await readFile(join(dir, "env-b", "manifest.json"), "utf8")).component.sha256 as string;
  const level = TRANSPILE_LEVEL;
  const entry = join(CACHE_DIR, "transpiled", level, sha);
  const meta = JSON.parse(await readFile(join(entry, "meta.json"), "utf8")) as { embedded: Record<string, [number, number]>; glue: string };
  const component = await readFile(join(dir, "env-b", "component.wasm"));
  const [at, length] = meta.embedded["component.core.wasm"]!;
  expect(component.subarray(at, at + 8).toString("hex")).toBe("0061736d01000000");

  const scratch = await mkdtemp(join(tmpdir(), "wfn-embedded-"));
  try {
    await cp(join(dir, "env-b"), join(scratch, "build", "env-b"), { recursive: true });
    const glue = join(CACHE_DIR, "transpiled", level, "glue", `${meta.glue}.mjs`);
    // A cache whose entry is right: served from it, nothing transpiled.
    const right = join(scratch, "cache-a", "transpiled", level);
    await cp(entry, join(right, sha), { recursive: true });
    await cp(glue, join(right, "glue", `${meta.glue}.mjs`));
    // A cache whose recorded place is wrong and has no file to fall back on: transpiled again.
    const wrongPlace = join(scratch, "cache-b", "transpiled", level);
    await cp(entry, join(wrongPlace, sha), { recursive: true });
    await cp(glue, join(wrongPlace, "glue", `${meta.glue}.mjs`));
    await writeFile(join(wrongPlace, sha, "meta.json"), JSON.stringify({ ...meta, embedded: { ...meta.embedded, "component.core.wasm": [at + 1, length] } }));
    for (const cacheDir of [join(scratch, "cache-a"), join(scratch, "cache-b")]) {
      const other = await startHost({ dir: join(scratch, "build"), cacheDir });
      const response = await other.get("/env/b");
      expect(response.status).toBe(200);
      expect(await response.json()).toMatchObject({ env: { NAME: "b" } });
      await other.server.close();
      const rewritten = JSON.parse(await readFile(join(cacheDir, "transpiled", level, sha, "meta.json"), "utf8")) as typeof meta;
      expect(rewritten.embedded["component.core.wasm"]).toEqual([at, length]);
    }
  } finally {
    await rm(scratch, { recursive: true, force: true });
  }
});
