// Turns a checked artifact into something executors can instantiate:
// jco-transpile's JS glue plus compiled core modules. Transpiling is slow
// (about a second for a StarlingMonkey component), so its output is cached
// on disk by component hash (the glue once per content); compiling happens
// once per distinct core module (an engine's code is the same in every
// function built by one toolchain) and the compiled WebAssembly.Modules are
// shared with every executor.
import { CAPABILITY_INTERFACES, SUSPENDING_IMPORTS } from "../capabilities/index.js";
import { OUTBOUND_INTERFACE, OUTBOUND_SUSPENDING } from "../sandbox/capabilities/outbound-fetch.js";
import { createHash } from "node:crypto";
import { mkdir, readFile, readdir, rename, rm, stat, writeFile } from "node:fs/promises";
import { setFlagsFromString } from "node:v8";
import { dirname, join } from "node:path";
import { pathToFileURL } from "node:url";
import type { transpileBytes } from "@bytecodealliance/jco-transpile";
import { WfnError } from "../errors.js";
import type { LoadableComponent } from "../pool/protocol.js";
import { componentSourceMap } from "../util/source-map.js";
import { packageVersion } from "../util/package-version.js";
import { definedMemories, rewriteModule, type MemoryImage } from "../util/wasm-binary.js";
import { instrumentInterrupts, type InstrumentedModule } from "../util/wasm-instrument.js";
import { GLUE_PATCH_LEVEL, patchGlue, type GluePatchReport } from "./glue.js";
import type { Artifact } from "./load.js";
import { PROXY_WORLD } from "./manifest.js";

/** The export a wasi:http/proxy component serves through, at any 0.2.x version. */
const PROXY_EXPORT = /^wasi:http\/incoming-handler@0\.2\.\d+$/;

/** A component ready to be instantiated in executors: transpiled glue and compiled, memory-capped core modules. */
export interface PreparedComponent extends LoadableComponent {
  /** The component's SHA-256. */
  sha256: string;
  /** Whether the transpiled glue came from the disk cache. */
  cached: boolean;
  /** The bytes of each of `modules` (same order): what the host holds for it, with the images. */
  moduleSizes: number[];
  /** Milliseconds spent transpiling (0 on a cache hit) and compiling. */
  transpileMs: number;
  compileMs: number;
}

/** How a component is prepared. */
export interface PrepareOptions {
  /** false: read the transpile cache and compile again, even when a prepared component is in use. */
  reuse?: boolean;
  /** false: leave the engine module without interrupt checks (util/wasm-instrument.ts); only for measuring what they cost. */
  interrupt?: boolean;
}

/** Interfaces a wfn host provides; a component importing anything else is rejected. */
const WASI_IMPORT = /^wasi:(cli|clocks|io|random|filesystem|http|sockets)\/[a-z-]+(@[\d.]+)?$/;

/** Whether the host provides an import: WASI, or an interface of the capability table. */
function isProvided(name: string): boolean {
  const bare = name.replace(/@[\d.]+$/, "");
  return WASI_IMPORT.test(name) || bare === OUTBOUND_INTERFACE || CAPABILITY_INTERFACES.includes(bare);
}

// The interrupt checks are marked unlikely in a branch-hint section; V8 reads such hints only with
// this flag (process-wide, read when code is compiled), and then keeps the call out of the hot path:
// measured, CPU-bound guest code slows by ~10% with the checks instead of ~35%.
setFlagsFromString("--experimental-wasm-branch-hinting");

const GLUE_FILE = "component.mjs";

/**
 * How the transpile cache is laid out: 2 keeps the glue once per content
 * (`glue/`) and writes no core module the component holds.
 */
const CACHE_LAYOUT = 2;

/** The folder under `<cacheDir>/transpiled` that this version of the host reads and writes. */
export function transpileCacheLevel(): string {
  return `jco-transpile-${packageVersion("@bytecodealliance/jco-transpile")}-jspi-p${GLUE_PATCH_LEVEL}-c${CACHE_LAYOUT}`;
}

/** How components are transpiled (the glue patches are verified against this output). */
export const TRANSPILE_OPTIONS = {
  name: "component",
  instantiation: "sync",
  emitTypescriptDeclarations: false,
  base64Cutoff: 0,
  noComponentErrorWrapping: true,
  // JSPI: `handle` (or a wasi:http/proxy component's incoming handler) returns a promise, and the imports a guest waits in (poll, pollable.block,
  // and the capabilities' host calls) suspend its stack instead of blocking the thread, so one
  // executor interleaves many invocations.
  asyncMode: "jspi",
  asyncImports: ["wasi:io/poll#poll", "wasi:io/poll#[method]pollable.block", ...OUTBOUND_SUSPENDING, ...SUSPENDING_IMPORTS],
  asyncExports: ["handle", "wasi:http/incoming-handler#handle"],
} satisfies Parameters<typeof transpileBytes>[1];
const META_FILE = "meta.json";

interface TranspileMeta {
  imports: string[];
  exports: Array<[string, string]>;
  coreModules: string[];
  patches: GluePatchReport;
  /**
   * Where each core module sits, byte for byte, inside the component
   * ([offset, length]), so a cache hit takes it from the component already
   * in memory instead of reading its file again (12 MB for StarlingMonkey).
   */
  embedded?: Record<string, [number, number]>;
  /**
   * The SHA-256 of the patched glue, kept once in the level's `glue/` folder
   * (`<sha256>.mjs`): components of one world and toolchain have the same
   * glue (417 KB for a StarlingMonkey function), and an executor holds each
   * glue module it ever loads, so thousands of functions share one.
   * Entries written before it was recorded have their own `component.mjs`.
   */
  glue?: string;
}

const inFlight = new Map<string, Promise<PreparedComponent>>();
/**
 * Prepared components still in use somewhere (a pool, a deployment being
 * prepared): a second version with the same code and memory limit (a
 * configuration change, an alias to an older version) shares their compiled
 * modules and memory images instead of preparing them again.
 */
const prepared = new Map<string, WeakRef<PreparedComponent>>();
const forget = new FinalizationRegistry<string>((key) => {
  if (prepared.get(key)?.deref() === undefined) prepared.delete(key);
});

/**
 * Prepares a component, transpiling it at most once per hash (in this
 * process and on disk). With `reuse: false`, always reads the transpile
 * cache and compiles again (what the benchmarks measure), still sharing a
 * preparation already under way.
 */
export function prepareComponent(artifact: Artifact, cacheDir: string, options: PrepareOptions = {}): Promise<PreparedComponent> {
  const interrupt = options.interrupt !== false;
  const key = `${artifact.manifest.component.sha256}:${artifact.manifest.config.memoryMB}${interrupt ? ":interrupt" : ""}`;
  // The glue a prepared component points at lives in its cache folder: share only within one.
  const local = `${cacheDir}\0${key}`;
  const ready = options.reuse === false ? undefined : prepared.get(local)?.deref();
  if (ready !== undefined) return Promise.resolve(ready);
  let pending = inFlight.get(local);
  if (pending === undefined) {
    pending = prepare(artifact, cacheDir, key, interrupt)
      .then((component) => {
        prepared.set(local, new WeakRef(component));
        forget.register(component, local);
        return component;
      })
      .finally(() => inFlight.delete(local));
    inFlight.set(local, pending);
  }
  return pending;
}

/** 64 KiB WebAssembly pages in a MiB. */
const PAGES_PER_MB = 16;

async function prepare(artifact: Artifact, cacheDir: string, key: string, interrupt: boolean): Promise<PreparedComponent> {
  const sha256 = artifact.manifest.component.sha256;
  const level = join(cacheDir, "transpiled", transpileCacheLevel());
  const dir = join(level, sha256);
  let meta = await readMeta(dir);
  // An entry whose core modules are neither where it says in the component nor in its folder is stale.
  if (meta !== undefined && !(await hasCoreModules(dir, meta, artifact.component))) {
    await rm(dir, { recursive: true, force: true });
    meta = undefined;
  }
  const cached = meta !== undefined;
  let transpileMs = 0;
  if (meta === undefined) {
    const started = performance.now();
    meta = await transpileTo(artifact, level, dir);
    transpileMs = performance.now() - started;
  }
  checkWorld(artifact, meta);
  if (meta.embedded === undefined) meta = await withEmbedded(dir, meta, artifact.component);
  const started = performance.now();
  const { memoryMB } = artifact.manifest.config;
  const modules: Array<[string, WebAssembly.Module]> = [];
  const moduleSizes: number[] = [];
  const images: Array<[string, MemoryImage]> = [];
  const interrupts: Array<[string, InstrumentedModule["memory"]]> = [];
  const maxPages = memoryMB * PAGES_PER_MB;
  for (const name of meta.coreModules) {
    let raw: Uint8Array;
    let rewritten: ReturnType<typeof rewriteModule>;
    try {
      raw = embeddedModule(artifact.component, meta.embedded?.[name]) ?? (await readFile(join(dir, name)));
      rewritten = rewriteModule(raw, maxPages, true);
    } catch (cause) {
      if (cause instanceof RangeError) {
        throw new WfnError("WFN_INVALID_CONFIG", `function ${artifact.manifest.name} ${cause.message.replace(/(\d+) pages/g, (_, p: string) => `${Math.ceil(Number(p) / PAGES_PER_MB)} MB`)}: raise its memoryMB`, { cause });
      }
      throw new WfnError("WFN_INVALID_ARTIFACT", `${artifact.origin}: core module ${name} is malformed: ${(cause as Error).message}`, { cause });
    }
    if (rewritten.image !== undefined) {
      try {
        const compiled = await compileCore(rewritten.module, interrupt);
        modules.push([name, compiled.module]);
        moduleSizes.push(compiled.size);
        images.push([name, rewritten.image]);
        if (compiled.interruptMemory !== undefined) interrupts.push([name, compiled.interruptMemory]);
        continue;
      } catch {
        // The code refers to its data segments: keep them in the module.
        rewritten = rewriteModule(raw, maxPages, false);
      }
    }
    try {
      const compiled = await compileCore(rewritten.module, interrupt);
      modules.push([name, compiled.module]);
      moduleSizes.push(compiled.size);
      if (compiled.interruptMemory !== undefined) interrupts.push([name, compiled.interruptMemory]);
    } catch (cause) {
      await rm(dir, { recursive: true, force: true });
      throw new WfnError("WFN_INVALID_ARTIFACT", `${artifact.origin}: core module ${name} does not compile: ${(cause as Error).message}`, { cause });
    }
  }
  return {
    key,
    sha256,
    glueUrl: pathToFileURL(meta.glue === undefined ? join(dir, GLUE_FILE) : join(level, "glue", `${meta.glue}.mjs`)).href,
    modules,
    moduleSizes,
    images,
    cached,
    transpileMs,
    compileMs: performance.now() - started,
    interrupts,
    sourceMap: componentSourceMap(artifact.component),
  };
}

/** A compiled core module and, when it was instrumented, where its interrupt checks look. */
interface CompiledCore {
  module: WebAssembly.Module;
  interruptMemory: InstrumentedModule["memory"] | undefined;
  /** The compiled bytes' length. */
  size: number;
}

/**
 * Compiled core modules by the SHA-256 of their rewritten bytes, while any
 * prepared component holds them. Once its data segments are lifted into the
 * memory image, StarlingMonkey's engine module is the same bytes in every
 * function built by one componentize-js (measured: 9.26 MB, identical across
 * all the suite's JavaScript fixtures), as is QuickJS's: a host with many
 * functions instruments and compiles each engine once and holds it once;
 * what differs per function is its memory image.
 */
const compiledCores = new Map<string, { module: WeakRef<WebAssembly.Module>; interruptMemory: InstrumentedModule["memory"] | undefined; size: number }>();
const compilingCores = new Map<string, Promise<CompiledCore>>();
const forgetCore = new FinalizationRegistry<string>((key) => {
  if (compiledCores.get(key)?.module.deref() === undefined) compiledCores.delete(key);
});

/**
 * A rewritten core module compiled, and with `interrupt` instrumented with
 * interrupt checks when it is the one that defines the memory (the engine;
 * the others are small adapters) and the instrumentation understands it
 * (else it runs as it is). Shared with every component whose module has the
 * same bytes.
 */
function compileCore(rewritten: Uint8Array<ArrayBuffer>, interrupt: boolean): Promise<CompiledCore> {
  const key = `${createHash("sha256").update(rewritten).digest("hex")}${interrupt ? ":interrupt" : ""}`;
  const held = compiledCores.get(key);
  const module = held?.module.deref();
  if (held !== undefined && module !== undefined) return Promise.resolve({ module, interruptMemory: held.interruptMemory, size: held.size });
  let pending = compilingCores.get(key);
  if (pending === undefined) {
    pending = (async () => {
      let bytes = rewritten;
      let interruptMemory: InstrumentedModule["memory"] | undefined;
      if (interrupt && definedMemories(rewritten).length === 1) {
        const instrumented = instrumentInterrupts(rewritten);
        if (!("reason" in instrumented)) ({ module: bytes, memory: interruptMemory } = instrumented);
      }
      const compiled = await WebAssembly.compile(bytes);
      compiledCores.set(key, { module: new WeakRef(compiled), interruptMemory, size: bytes.byteLength });
      forgetCore.register(compiled, key);
      return { module: compiled, interruptMemory, size: bytes.byteLength };
    })().finally(() => compilingCores.delete(key));
    compilingCores.set(key, pending);
  }
  return pending;
}

/** Adds the core modules' places to a cache entry written before they were recorded (best effort). */
async function withEmbedded(dir: string, meta: TranspileMeta, component: Uint8Array): Promise<TranspileMeta> {
  try {
    const files: Record<string, Uint8Array> = {};
    for (const name of meta.coreModules) files[name] = await readFile(join(dir, name));
    const upgraded = { ...meta, embedded: embeddedModules(component, files) };
    const temp = join(dir, `${META_FILE}.tmp-${process.pid}-${Math.random().toString(36).slice(2)}`);
    await writeFile(temp, JSON.stringify(upgraded));
    await rename(temp, join(dir, META_FILE));
    return upgraded;
  } catch {
    return meta;
  }
}

/** Finds the core modules the transpiler wrote inside the component's own bytes. */
function embeddedModules(component: Uint8Array, files: Record<string, Uint8Array>): Record<string, [number, number]> {
  const haystack = Buffer.from(component.buffer, component.byteOffset, component.byteLength);
  const found: Record<string, [number, number]> = {};
  for (const [name, bytes] of Object.entries(files)) {
    if (!name.endsWith(".wasm")) continue;
    const at = haystack.indexOf(Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength));
    if (at >= 0) found[name] = [at, bytes.byteLength];
  }
  return found;
}

/** A core module inside the component (no copy), when the cache says where and the bytes there start like one. */
function embeddedModule(component: Uint8Array, where: [number, number] | undefined): Uint8Array | undefined {
  if (where === undefined) return undefined;
  const [at, length] = where;
  if (!Number.isInteger(at) || !Number.isInteger(length) || at < 0 || length < 8 || at + length > component.byteLength) return undefined;
  const bytes = component.subarray(at, at + length);
  return bytes[0] === 0x00 && bytes[1] === 0x61 && bytes[2] === 0x73 && bytes[3] === 0x6d && bytes[4] === 0x01 && bytes[5] === 0x00 ? bytes : undefined;
}

async function readMeta(dir: string): Promise<TranspileMeta | undefined> {
  try {
    return JSON.parse(await readFile(join(dir, META_FILE), "utf8")) as TranspileMeta;
  } catch {
    return undefined;
  }
}

async function transpileTo(artifact: Artifact, level: string, dir: string): Promise<TranspileMeta> {
  let result: Awaited<ReturnType<typeof transpileBytes>>;
  try {
    // Loaded on the first cache miss only: importing the transpiler costs ~100 ms of start-up.
    const { transpileBytes: transpile } = await import("@bytecodealliance/jco-transpile");
    result = await transpile(artifact.component, TRANSPILE_OPTIONS);
  } catch (cause) {
    throw new WfnError(
      "WFN_INVALID_ARTIFACT",
      `${artifact.origin}: not a valid WebAssembly component (${firstLine(cause)})`,
      { cause },
    );
  }
  const glue = patchGlue(new TextDecoder().decode(result.files["component.js"]));
  const embedded = embeddedModules(artifact.component, result.files);
  const meta: TranspileMeta = {
    imports: result.imports,
    exports: result.exports,
    coreModules: Object.keys(result.files).filter((name) => name.endsWith(".wasm")).sort(),
    patches: glue.report,
    embedded,
    glue: createHash("sha256").update(glue.source).digest("hex"),
  };
  // The glue once per content, first: an entry is complete only once its glue is in place.
  const glueFile = join(level, "glue", `${meta.glue}.mjs`);
  if (!(await exists(glueFile))) {
    await mkdir(dirname(glueFile), { recursive: true });
    const temp = `${glueFile}.tmp-${process.pid}-${Math.random().toString(36).slice(2)}`;
    await writeFile(temp, glue.source);
    await rename(temp, glueFile);
  }
  // Write beside the final folder, then rename: readers never see half a cache entry. Core
  // modules found byte for byte in the component are not written again (12 MB for StarlingMonkey).
  const temp = `${dir}.tmp-${process.pid}-${Math.random().toString(36).slice(2)}`;
  await mkdir(temp, { recursive: true });
  for (const [name, bytes] of Object.entries(result.files)) {
    if (!name.endsWith(".wasm") || embedded[name] !== undefined) continue;
    await writeFile(join(temp, name), bytes);
  }
  await writeFile(join(temp, META_FILE), JSON.stringify(meta));
  try {
    await rename(temp, dir);
  } catch {
    // Another process won the race; its entry is identical.
    await rm(temp, { recursive: true, force: true });
    if ((await readdir(dir).catch(() => [])).length === 0) throw new WfnError("WFN_INTERNAL", `cannot write the transpile cache at ${dir}`);
  }
  return meta;
}

/** Whether every core module of a cache entry can be had: from the component where the entry says, or from its folder. */
async function hasCoreModules(dir: string, meta: TranspileMeta, component: Uint8Array): Promise<boolean> {
  for (const name of meta.coreModules) {
    if (embeddedModule(component, meta.embedded?.[name]) === undefined && !(await exists(join(dir, name)))) return false;
  }
  return meta.glue === undefined ? exists(join(dir, GLUE_FILE)) : exists(join(dir, "..", "glue", `${meta.glue}.mjs`));
}

async function exists(path: string): Promise<boolean> {
  try {
    await stat(path);
    return true;
  } catch {
    return false;
  }
}

function checkWorld(artifact: Artifact, meta: TranspileMeta): void {
  const handle = meta.exports.find(([name]) => name === "handle");
  const proxy = meta.exports.some(([name, kind]) => PROXY_EXPORT.test(name) && kind === "instance");
  if (artifact.manifest.world === PROXY_WORLD ? !proxy : handle === undefined || handle[1] !== "function") {
    throw new WfnError(
      "WFN_INVALID_ARTIFACT",
      artifact.manifest.world === PROXY_WORLD
        ? `${artifact.origin}: the component does not export wasi:http/incoming-handler@0.2.x, so it does not target ${PROXY_WORLD}`
        : `${artifact.origin}: the component does not export \`handle\`, so it does not target ${artifact.manifest.world}`,
    );
  }
  const foreign = meta.imports.filter((name) => !isProvided(name));
  if (foreign.length > 0) {
    throw new WfnError(
      "WFN_INVALID_ARTIFACT",
      `${artifact.origin}: the component imports ${foreign.join(", ")}, which a wfn host does not provide`,
    );
  }
}

function firstLine(error: unknown): string {
  const message = error instanceof Error ? error.message : String(error);
  return message.split("\n")[0]!.slice(0, 300);
}
