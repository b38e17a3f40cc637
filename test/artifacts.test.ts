// Bad artifacts are refused with a clear reason, and never take the host down.
import { createHash } from "node:crypto";
import { cp, mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, expect, it } from "vitest";
import { GLUE_PATCH_LEVEL } from "../runtime/dist/artifact/glue.js";
import { APP_BUILD } from "./helpers/paths.js";
import { startHost, type TestHost } from "./helpers/host.js";

let dir: string;
let app: TestHost;
/** The transpile cache's folder for this version of the glue patches (older ones may sit beside it). */
const TRANSPILE_LEVEL = `jco-transpile-0.15.0-jspi-p${GLUE_PATCH_LEVEL}`;

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
  const glue = await readFile(join(entry, "component.mjs"), "utf8");
  expect(glue).toContain("const _debugLog = () => {};");
  expect(glue).not.toContain("_lowerImportBackwardsCompat.bind(");
});

it("takes a cached component's core modules from the component itself, and falls back to the cache's files", async () => {
  const { CACHE_DIR } = await import("./helpers/paths.js");
  const sha = JSON.parse(await readFile(join(dir, "env-b", "manifest.json"), "utf8")).component.sha256 as string;
  const level = TRANSPILE_LEVEL;
  const entry = join(CACHE_DIR, "transpiled", level, sha);
  const meta = JSON.parse(await readFile(join(entry, "meta.json"), "utf8")) as { embedded: Record<string, [number, number]> };
  const component = await readFile(join(dir, "env-b", "component.wasm"));
  const [at, length] = meta.embedded["component.core.wasm"]!;
  expect(Buffer.compare(component.subarray(at, at + length), await readFile(join(entry, "component.core.wasm")))).toBe(0);

  const scratch = await mkdtemp(join(tmpdir(), "wfn-embedded-"));
  try {
    await cp(join(dir, "env-b"), join(scratch, "build", "env-b"), { recursive: true });
    // A cache whose engine module file is gone: the component still has it.
    const noFile = join(scratch, "cache-a", "transpiled", level, sha);
    await cp(entry, noFile, { recursive: true });
    await rm(join(noFile, "component.core.wasm"));
    // A cache whose recorded place is wrong: the file is read instead.
    const wrongPlace = join(scratch, "cache-b", "transpiled", level, sha);
    await cp(entry, wrongPlace, { recursive: true });
    await writeFile(join(wrongPlace, "meta.json"), JSON.stringify({ ...meta, embedded: { ...meta.embedded, "component.core.wasm": [at + 1, length] } }));
    for (const cacheDir of [join(scratch, "cache-a"), join(scratch, "cache-b")]) {
      const other = await startHost({ dir: join(scratch, "build"), cacheDir });
      const response = await other.get("/env/b");
      expect(response.status).toBe(200);
      expect(await response.json()).toMatchObject({ env: { NAME: "b" } });
      await other.server.close();
    }
  } finally {
    await rm(scratch, { recursive: true, force: true });
  }
});
