// Turns a bundled guest module into a WebAssembly component with
// componentize-js (StarlingMonkey), using our deterministic pre-initialiser,
// and caches the result by the hash of everything that goes in.
import { createHash } from "node:crypto";
import { chmod, mkdir, readFile, rename, rm, writeFile } from "node:fs/promises";
import { registerHooks } from "node:module";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { packageVersion } from "@wfn/runtime";

/** Inputs of one componentization. */
export interface ComponentizeInput {
  /** The bundled ES module (the guest's whole source). */
  source: string;
  /** Folder holding the world's WIT (the sdk's `wit/`). */
  witDir: string;
  /** Text of every WIT file, so the cache key changes when the world does. */
  witFingerprint: string;
  cacheDir: string;
  /** Runs before the engine is, when the component is not in the cache (wfn build's quick check): may throw to stop. */
  beforeMake?: () => Promise<void>;
}

export interface ComponentizeOutput {
  component: Uint8Array;
  /** Whether the component came from the build cache. */
  cached: boolean;
}

/** componentize-js features wfn functions use; `fetch-event` (wasi:http incoming) is not one. */
const DISABLED_FEATURES = ["fetch-event"] as const;
const SHIM_URL = new URL("./wizer-shim.js", import.meta.url);
/** Bumped when anything here changes what a given input componentizes to. */
const PIPELINE_VERSION = "1";

export function engineVersion(): string {
  return packageVersion("@bytecodealliance/componentize-js");
}

/** Componentizes `source` with StarlingMonkey, or returns the cached component for the same inputs. */
export function componentize(input: ComponentizeInput): Promise<ComponentizeOutput> {
  return cached(input, ["starlingmonkey", engineVersion(), DISABLED_FEATURES, ...(symbolsWanted() ? ["symbols"] : [])], () => runComponentize(input));
}

/**
 * `WFN_ENGINE_SYMBOLS=1`: build on StarlingMonkey's engine with function
 * names, so CPU profiles name SpiderMonkey's functions instead of
 * `wasm-function[N]` (docs/performance.md). The component is 2–3 MB larger.
 */
function symbolsWanted(): boolean {
  return process.env.WFN_ENGINE_SYMBOLS === "1";
}

export function quickJsVersion(): string {
  return packageVersion("componentize-qjs");
}

/** Componentizes `source` with QuickJS (componentize-qjs, world `function-async`), or returns the cached component. */
export function componentizeQuickJs(input: ComponentizeInput): Promise<ComponentizeOutput> {
  return cached(input, ["quickjs", quickJsVersion()], async () => {
    const { componentize: run } = await import("componentize-qjs");
    try {
      const { component } = await run({ witPath: input.witDir, jsSource: input.source, world: "function-async" });
      return new Uint8Array(component.buffer, component.byteOffset, component.byteLength);
    } catch (error) {
      throw new ComponentizeError(cleanMessage(error));
    }
  });
}

/** The component for these inputs from the build cache, or made and cached. */
async function cached(input: ComponentizeInput, engine: readonly unknown[], make: () => Promise<Uint8Array>): Promise<ComponentizeOutput> {
  const key = createHash("sha256")
    .update(JSON.stringify([PIPELINE_VERSION, ...engine, input.witFingerprint]))
    .update("\0")
    .update(input.source)
    .digest("hex");
  const path = join(input.cacheDir, "components", `${key}.wasm`);
  try {
    return { component: await readFile(path), cached: true };
  } catch {
    // not cached yet
  }
  await input.beforeMake?.();
  const component = await make();
  await mkdir(dirname(path), { recursive: true });
  const temp = `${path}.tmp-${process.pid}`;
  await writeFile(temp, component);
  await rename(temp, path);
  return { component, cached: false };
}

let hooked = false;

/**
 * componentize-js imports @bytecodealliance/preview2-shim without depending
 * on it, so whether it resolves depends on how npm laid out node_modules.
 * Resolve it from here (the CLI depends on it), which also guarantees that
 * componentize-js and this module share one copy of the shim.
 */
function resolveShimFromHere(): void {
  if (hooked) return;
  hooked = true;
  registerHooks({
    resolve(specifier, context, nextResolve) {
      if (specifier === SHIM || specifier.startsWith(`${SHIM}/`)) return nextResolve(specifier, { ...context, parentURL: import.meta.url });
      return nextResolve(specifier, context);
    },
  });
}

const SHIM = "@bytecodealliance/preview2-shim";

async function runComponentize(input: ComponentizeInput): Promise<Uint8Array> {
  resolveShimFromHere();
  // componentize-js reads WIT through preview2-shim's filesystem, which has no preopens by default.
  const { _setPreopens } = (await import("@bytecodealliance/preview2-shim/filesystem")) as {
    _setPreopens(preopens: Record<string, string>): void;
  };
  _setPreopens({ "/": "/" });
  const { componentize: run } = await import("@bytecodealliance/componentize-js");
  const work = join(tmpdir(), `wfn-build-${process.pid}-${Math.random().toString(36).slice(2)}`);
  await mkdir(work, { recursive: true });
  try {
    const sourcePath = join(work, "function.js");
    await writeFile(sourcePath, input.source);
    const { component } = await run({
      sourcePath,
      witPath: input.witDir,
      worldName: "function",
      disableFeatures: [...DISABLED_FEATURES],
      wizerBin: await shimExecutable(input.cacheDir),
      // componentize-js's debug engine is the same optimised build with its name section kept.
      ...(symbolsWanted() ? { debugBuild: true } : {}),
    });
    return component;
  } catch (error) {
    throw new ComponentizeError(cleanMessage(error));
  } finally {
    await rm(work, { recursive: true, force: true });
  }
}

/** A failure inside componentize-js, with its output cleaned up for people. */
export class ComponentizeError extends Error {
  override name = "ComponentizeError";
}

function cleanMessage(error: unknown): string {
  const raw = error instanceof Error ? error.message : String(error);
  return (
    raw
      // "Failed to initialize component (wizer (/root/.cache/wfn/bin/wizer-shim-….sh)):": how, not what.
      .replace(/^Failed to initialize component \(.*\):[ \t]*(?:\n|$)/m, "")
      .replace(/^Exception while evaluating top-level script\n/m, "the module's top level threw: ")
      // StarlingMonkey repeats the same error as an unhandled rejection, and the exit code's symbol.
      .replace(/^Additionally, some promises were rejected, but the rejection never handled:\n/m, "")
      .replace(/^Promise rejected but never handled: .*\n/gm, "")
      .replace(/^Symbol\(kExitCode\)$/m, "")
      .replace(/\/tmp\/wfn-build-[^/\s]+\//g, "")
      .trim()
  );
}

/**
 * componentize-js spawns `wizerBin` with a bare environment (no PATH), so the
 * shim is a tiny shell script naming this very Node binary by absolute path.
 */
async function shimExecutable(cacheDir: string): Promise<string> {
  const script = `#!/bin/sh\nexec "${process.execPath}" --no-warnings "${fileURLToPath(SHIM_URL)}" "$@"\n`;
  const name = createHash("sha256").update(script).digest("hex").slice(0, 16);
  const path = join(cacheDir, "bin", `wizer-shim-${name}.sh`);
  try {
    if ((await readFile(path, "utf8")) === script) return path;
  } catch {
    // write it below
  }
  await mkdir(dirname(path), { recursive: true });
  const temp = `${path}.tmp-${process.pid}`;
  await writeFile(temp, script);
  await chmod(temp, 0o755);
  await rename(temp, path);
  return path;
}
