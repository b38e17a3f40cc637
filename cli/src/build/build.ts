// `wfn build`: type-check, bundle, componentize and package each function
// of a project into <out>/<name>/{component.wasm, manifest.json}.
import { createHash } from "node:crypto";
import { mkdir, readdir, readFile, rename, rm, writeFile } from "node:fs/promises";
import { join, relative, resolve } from "node:path";
import {
  APP_FILE,
  COMPONENT_FILE,
  MANIFEST_FILE,
  MANIFEST_VERSION,
  ASYNC_WORLD,
  PROXY_WORLD,
  WORLD,
  defaultCacheDir,
  lambdaEnvironment,
  sha256Hex,
  SOURCE_MAP_SECTION,
  StackMapper,
  type FunctionConfig,
  type Manifest,
} from "@wfn/runtime";
import { withCustomSection } from "@wfn/runtime/wasm-binary";
import type { Project } from "../project/project.js";
import { CliError } from "../errors.js";
import { BundleError, bundleFunction, CLI_SDK_DIR, formatProblem, type SourceProblem } from "./bundle.js";
import { componentize, componentizeQuickJs, engineVersion, quickJsVersion } from "./componentize.js";
import { buildC, CBuildError, isCEntry } from "./c.js";
import { buildPrebuilt, isPrebuiltEntry, PrebuiltError } from "./prebuilt.js";
import { precheck } from "./precheck.js";
import { typecheck } from "./typecheck.js";
import { loadWorld } from "./world.js";

export const DEFAULT_OUT_DIR = join(".wfn", "build");
const BUILD_INFO_FILE = "build-info.json";

export interface BuildOptions {
  /** Output folder; default `<project>/.wfn/build`. */
  outDir?: string;
  /** Build only these functions (default: all, and remove outputs of functions no longer declared). */
  only?: string[];
  /** Type-check TypeScript entries first (default true). */
  typecheck?: boolean;
  /** Run each module's top level in Node.js before componentizing it, to stop at once on what would fail there (./precheck.ts); default true. */
  precheck?: boolean;
  cacheDir?: string;
  /** Progress reports, for people watching. */
  onProgress?: (event: BuildProgress) => void;
}

export type BuildProgress =
  | { kind: "typecheck"; files: number }
  | { kind: "start"; name: string }
  | { kind: "bundled"; name: string; bytes: number; ms: number }
  | { kind: "done"; name: string; manifest: Manifest; ms: number; componentizeMs: number; cached: boolean };

/** The result of building one function. */
export interface BuiltFunction {
  name: string;
  manifest: Manifest;
  dir: string;
  bundleBytes: number;
  cached: boolean;
}

/** A build that failed on the functions' source. */
export class BuildError extends CliError {
  override name = "BuildError";
  constructor(
    readonly functionName: string | undefined,
    readonly problems: SourceProblem[],
    message: string,
    /** The build needs a compiler this machine lacks (C entries): `wfn serve` of several projects skips such a project. */
    readonly missingToolchain = false,
  ) {
    super(message);
  }

  override details(): string[] {
    return this.problems.map(formatProblem);
  }
}

/** What is recorded next to an artifact to tell whether it is up to date. */
interface BuildInfo {
  toolchain: string;
  configSha256: string;
  inputs: Record<string, string>;
  /** The SDK the guest was bundled with, and a digest of its built files: an upgraded SDK makes the build stale. */
  sdk?: { dir: string; sha256: string };
}

/** Builds a project's functions. */
export async function buildProject(project: Project, options: BuildOptions = {}): Promise<BuiltFunction[]> {
  const outDir = resolve(project.dir, options.outDir ?? DEFAULT_OUT_DIR);
  const digests = new Map<string, Promise<string>>();
  const cacheDir = options.cacheDir ?? defaultCacheDir();
  const names = options.only ?? [...project.functions.keys()];
  const progress = options.onProgress ?? (() => {});

  if (options.typecheck !== false) {
    const entries = [...new Set(names.map((name) => project.functions.get(name)!.entry))].filter((entry) => !isPrebuiltEntry(entry));
    progress({ kind: "typecheck", files: entries.length });
    const problems = await typecheck(project.dir, entries, join(project.dir, ".wfn", "tmp"));
    if (problems.length > 0) throw new BuildError(undefined, problems, "type errors");
  }

  const built: BuiltFunction[] = [];
  for (const name of names) {
    const config = project.functions.get(name)!;
    progress({ kind: "start", name });
    const started = performance.now();
    const made = isPrebuiltEntry(config.entry) ? await prebuilt(project, name, config) : await fromSource(project, name, config, cacheDir, progress, started, options.precheck !== false);
    const manifest: Manifest = {
      manifestVersion: MANIFEST_VERSION,
      name,
      world: made.world,
      engine: made.engine,
      sdkVersion: made.sdkVersion,
      component: { file: COMPONENT_FILE, sha256: sha256Hex(made.component), size: made.component.byteLength },
      sourceSha256: made.sourceSha256,
      config: { ...config, ...made.defaults, style: made.style },
    };
    const dir = join(outDir, name);
    const info: BuildInfo = { toolchain: toolchain(), configSha256: configHash(config), inputs: await hashInputs(project.dir, made.inputs) };
    if (made.sdkDir !== undefined) info.sdk = { dir: made.sdkDir, sha256: await sdkFingerprint(made.sdkDir, digests) };
    await writeArtifact(dir, made.component, manifest, info);
    progress({ kind: "done", name, manifest, ms: performance.now() - started, componentizeMs: made.componentizeMs, cached: made.cached });
    built.push({ name, manifest, dir, bundleBytes: made.bundleBytes, cached: made.cached });
  }

  if (options.only === undefined) await removeUndeclared(outDir, new Set(names));
  await writeAppFile(project, outDir);
  return built;
}

/**
 * Writes the app-wide part of the build output (`app.json`: the queues),
 * which the host reads next to the functions' folders.
 */
/** The text of a project's app.json: what a host needs beyond the functions (its queues). */
export function appFileText(project: Project): string {
  return JSON.stringify({ version: 1, queues: project.queues }, null, 2) + "\n";
}

export async function writeAppFile(project: Project, outDir = resolve(project.dir, DEFAULT_OUT_DIR)): Promise<void> {
  await mkdir(outDir, { recursive: true });
  const text = appFileText(project);
  const path = join(outDir, APP_FILE);
  try {
    if ((await readFile(path, "utf8")) === text) return;
  } catch {
    // not written yet
  }
  const temp = `${path}.tmp-${process.pid}`;
  await writeFile(temp, text);
  await rename(temp, path);
}

interface Made {
  component: Uint8Array;
  /** Web or Lambda style; prebuilt components are neither, and count as web. */
  style: "web" | "lambda";
  engine: Manifest["engine"];
  world: Manifest["world"];
  sdkVersion: string;
  sourceSha256: string;
  inputs: string[];
  bundleBytes: number;
  componentizeMs: number;
  cached: boolean;
  /** The SDK bundled into the guest (none for a prebuilt component). */
  sdkDir?: string;
  /** Configuration this kind of function defaults differently (a wasi:http component's isolation). */
  defaults?: Partial<FunctionConfig>;
}

/** A JavaScript or TypeScript function: bundle, then componentize with its engine (StarlingMonkey or QuickJS). */
async function fromSource(project: Project, name: string, config: FunctionConfig, cacheDir: string, progress: (event: BuildProgress) => void, started: number, precheckFirst: boolean): Promise<Made> {
  const engine = config.engine ?? "starlingmonkey";
  let bundle;
  try {
    bundle = await bundleFunction(project.dir, config.entry, { style: config.style, lambdaEnv: lambdaEnvironment(name, config), engine });
  } catch (error) {
    if (error instanceof BundleError) throw new BuildError(name, error.problems, `function "${name}" does not build`);
    throw error;
  }
  const bundleBytes = Buffer.byteLength(bundle.code);
  progress({ kind: "bundled", name, bytes: bundleBytes, ms: performance.now() - started });
  const componentizeStarted = performance.now();
  const world = await loadWorld(bundle.sdkDir);
  let output;
  try {
    const beforeMake = async () => {
      if (!precheckFirst) return;
      const problem = await precheck(project.dir, config.entry, { style: config.style, lambdaEnv: lambdaEnvironment(name, config), engine });
      if (problem !== undefined) throw new BuildError(name, [problem], `function "${name}" does not load`);
    };
    const input = { source: bundle.code, witDir: world.witDir, witFingerprint: world.fingerprint, cacheDir, beforeMake };
    output = engine === "quickjs" ? await componentizeQuickJs(input) : await componentize(input);
  } catch (error) {
    if (error instanceof BuildError) throw error;
    throw new BuildError(name, [componentizeProblem(config.entry, (error as Error).message, bundle.sourceMap)], `function "${name}" does not componentize`);
  }
  return {
    // The bundle's source map goes in the component, so that stack traces name the sources wherever it runs.
    component: withCustomSection(output.component, SOURCE_MAP_SECTION, new TextEncoder().encode(bundle.sourceMap)),
    style: bundle.style,
    engine: engine === "quickjs" ? { name: "quickjs", version: quickJsVersion() } : { name: "starlingmonkey", version: engineVersion() },
    world: engine === "quickjs" ? ASYNC_WORLD : WORLD,
    sdkVersion: bundle.sdkVersion,
    sourceSha256: bundle.sha256,
    inputs: bundle.inputs,
    bundleBytes,
    componentizeMs: performance.now() - componentizeStarted,
    cached: output.cached,
    sdkDir: bundle.sdkDir,
  };
}

/**
 * What failed while the component's top level ran (at build time), at the
 * place in the project's own sources it names first (positions in the bundle
 * mapped through its source map), else at the entry.
 */
function componentizeProblem(entry: string, message: string, sourceMap: string): SourceProblem {
  // StarlingMonkey puts the position before the error ("function.js:41:19 SyntaxError: …"): it is said once, first.
  const mapped = new StackMapper(sourceMap)
    .map(message)
    .replace(/^(the module's top level threw: )?\S+:\d+:\d+ /, "$1");
  // The SDK's files, packages and the build's own wrapper module are not where the user looks.
  const theirs = mapped.replaceAll(/(?:^|[\s@(])(?:@wfn\/|node_modules\/|wfn-entry\.js)\S*/g, " ");
  const own = /(?:^|[\s@(])((?![@/.])[^\s@():]+\.[cm]?[jt]sx?):(\d+):(\d+)/m.exec(theirs);
  if (own === null) return { file: entry, message: mapped };
  return { file: own[1]!, line: Number(own[2]), column: Number(own[3]), message: mapped };
}

/** A component (or core module) made by another toolchain. */
async function prebuilt(project: Project, name: string, config: FunctionConfig): Promise<Made> {
  const started = performance.now();
  try {
    const c = isCEntry(config.entry);
    const { component, kind, proxy, inputs } = c
      ? { ...(await buildC(project.dir, config.entry, CLI_SDK_DIR)), proxy: true }
      : { ...(await buildPrebuilt(project.dir, config.entry, await loadWorld(CLI_SDK_DIR))), inputs: [config.entry.replaceAll("\\", "/")] };
    if (proxy) refuseNonHttpTriggers(name, config);
    // wasi:http/proxy components are written for an instance per request (wasmtime serve and Spin
    // make one for each; StarlingMonkey's fetch-event cannot answer a second request), unless wfn.json
    // says otherwise; the SDK's C library answers any number of requests on one instance.
    const defaults: Partial<FunctionConfig> = proxy && !c && !(await declaresIsolation(project, name)) ? { isolation: "request" } : {};
    return {
      defaults,
      component,
      style: "web",
      engine: { name: "prebuilt", version: kind },
      world: proxy ? PROXY_WORLD : WORLD,
      sdkVersion: JSON.parse(await readFile(join(CLI_SDK_DIR, "package.json"), "utf8")).version as string,
      sourceSha256: sha256Hex(await readFile(join(project.dir, config.entry))),
      inputs,
      bundleBytes: 0,
      componentizeMs: performance.now() - started,
      cached: false,
    };
  } catch (error) {
    if (error instanceof PrebuiltError) throw new BuildError(name, [error.problem], `function "${name}" does not build`);
    if (error instanceof CBuildError) throw new BuildError(name, error.problems, `function "${name}" does not build`, error.missingToolchain);
    throw error;
  }
}

/** Whether wfn.json sets the function's isolation itself (rather than taking the default). */
async function declaresIsolation(project: Project, name: string): Promise<boolean> {
  const file = JSON.parse(await readFile(project.file, "utf8")) as { functions?: Record<string, { isolation?: unknown }> };
  return file.functions?.[name]?.isolation !== undefined;
}

/** A wasi:http/proxy component answers HTTP requests (and invokes, as a POST): it has no handler for other events. */
function refuseNonHttpTriggers(name: string, config: FunctionConfig): void {
  const triggers = (["queue", "schedule", "storage"] as const).filter((trigger) => config[trigger] !== undefined);
  if (triggers.length === 0) return;
  throw new BuildError(
    name,
    [{ file: "wfn.json", message: `functions.${name}: a wasi:http/proxy component serves HTTP requests and invokes only; remove its ${triggers.join(", ")} trigger${triggers.length > 1 ? "s" : ""}` }],
    `function "${name}" does not build`,
  );
}

/** Names of the functions whose build output is missing or older than their sources or configuration. */
export async function staleFunctions(project: Project, outDir = resolve(project.dir, DEFAULT_OUT_DIR)): Promise<string[]> {
  const stale: string[] = [];
  const digests = new Map<string, Promise<string>>();
  for (const [name, config] of project.functions) {
    const dir = join(outDir, name);
    try {
      const info = JSON.parse(await readFile(join(dir, BUILD_INFO_FILE), "utf8")) as BuildInfo;
      const manifest = JSON.parse(await readFile(join(dir, MANIFEST_FILE), "utf8")) as Manifest;
      const inputs = await hashInputs(project.dir, Object.keys(info.inputs));
      const fresh =
        info.toolchain === toolchain() &&
        info.configSha256 === configHash(config) &&
        manifest.name === name &&
        Object.entries(info.inputs).every(([path, hash]) => inputs[path] === hash) &&
        // Built from source before the SDK was recorded, or with an SDK that changed since: stale.
        (isPrebuiltEntry(config.entry) || (info.sdk !== undefined && (await sdkFingerprint(info.sdk.dir, digests)) === info.sdk.sha256));
      if (!fresh) stale.push(name);
    } catch {
      stale.push(name);
    }
  }
  return stale;
}

/** Project-relative paths of the files a function's last build read. */
export async function functionInputs(outDir: string, name: string): Promise<string[]> {
  try {
    return Object.keys((JSON.parse(await readFile(join(outDir, name, BUILD_INFO_FILE), "utf8")) as BuildInfo).inputs);
  } catch {
    return [];
  }
}

/** Removes build outputs of functions the project no longer declares. */
export async function pruneBuildDir(project: Project, outDir = resolve(project.dir, DEFAULT_OUT_DIR)): Promise<void> {
  await removeUndeclared(outDir, new Set(project.functions.keys()));
}

async function writeArtifact(dir: string, component: Uint8Array, manifest: Manifest, info: BuildInfo): Promise<void> {
  // Write a sibling folder, then swap, so a running `wfn dev` host never reads half an artifact.
  const temp = `${dir}.tmp-${process.pid}`;
  await rm(temp, { recursive: true, force: true });
  await mkdir(temp, { recursive: true });
  await writeFile(join(temp, COMPONENT_FILE), component);
  await writeFile(join(temp, MANIFEST_FILE), JSON.stringify(manifest, null, 2) + "\n");
  await writeFile(join(temp, BUILD_INFO_FILE), JSON.stringify(info, null, 2) + "\n");
  await rm(dir, { recursive: true, force: true });
  await rename(temp, dir);
}

async function removeUndeclared(outDir: string, declared: Set<string>): Promise<void> {
  let entries: string[];
  try {
    entries = await readdir(outDir);
  } catch {
    return;
  }
  for (const entry of entries) {
    if (!declared.has(entry) && entry !== APP_FILE && !entry.includes(".tmp-")) await rm(join(outDir, entry), { recursive: true, force: true });
  }
}

function toolchain(): string {
  return `componentize-js ${engineVersion()}; componentize-qjs ${quickJsVersion()}; world ${WORLD}`;
}

/**
 * A digest of an SDK's built files (its `dist/`, as bundled into guests),
 * "missing" when they cannot be read; `digests` remembers them for one build
 * or one staleness check (about 60 small files, a few milliseconds).
 */
function sdkFingerprint(dir: string, digests: Map<string, Promise<string>>): Promise<string> {
  let digest = digests.get(dir);
  if (digest === undefined) {
    digest = (async () => {
      const hash = createHash("sha256");
      try {
        const root = join(dir, "dist");
        const files = (await readdir(root, { recursive: true, withFileTypes: true })).filter((entry) => entry.isFile()).map((entry) => join(entry.parentPath, entry.name)).sort();
        for (const file of files) hash.update(relative(root, file)).update("\0").update(await readFile(file)).update("\0");
        return hash.digest("hex");
      } catch {
        return "missing";
      }
    })();
    digests.set(dir, digest);
  }
  return digest;
}

function configHash(config: FunctionConfig): string {
  return createHash("sha256").update(JSON.stringify(config)).digest("hex");
}

async function hashInputs(projectDir: string, paths: string[]): Promise<Record<string, string>> {
  const hashes: Record<string, string> = {};
  for (const path of paths) {
    try {
      hashes[path] = sha256Hex(await readFile(join(projectDir, path)));
    } catch {
      hashes[path] = "missing";
    }
  }
  return hashes;
}
