// Bundles a function's entry (TypeScript included, npm dependencies
// included) into one ES module for the guest, wrapped so that it exports the
// world's `handle`. @wfn/sdk comes from the project when it has installed
// it, and from the CLI otherwise.
import { createHash } from "node:crypto";
import { readFile } from "node:fs/promises";
import { builtinModules } from "node:module";
import { dirname, isAbsolute, join, relative, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { lowerUnicodePropertyEscapes } from "./unicode-regex.js";
import type * as esbuild from "esbuild";

/** The sdk the CLI ships with, used when a project has not installed its own. */
export const CLI_SDK_DIR = dirname(dirname(fileURLToPath(import.meta.resolve("@wfn/sdk"))));

const GUEST_IMPORTS = ["wasi:*", "wfn:*"];
/** Globals from Node.js that function code may use, supplied by well-kept browser implementations. */
const SHIMS = fileURLToPath(new URL("../../shims/", import.meta.url));
const BUFFER_SHIM = `${SHIMS}buffer.js`;
const CLI_DIR = fileURLToPath(new URL("../../", import.meta.url));
const NODE_BUILTINS = new Set([...builtinModules, ...builtinModules.map((m) => `node:${m}`)]);
/**
 * Node.js modules that npm packages commonly require, bundled in their place
 * (only into code that imports them): well-kept browser implementations, and
 * wfn's own shims (cli/shims/) where a package does not fit. A trailing slash
 * makes the name a package, never the built-in again.
 */
const NODE_POLYFILLS: Readonly<Record<string, string>> = {
  assert: "assert/",
  "assert/strict": "./shims/assert-strict.js",
  buffer: "buffer/",
  crypto: "./shims/crypto.js",
  events: "events/",
  path: "path-browserify",
  "path/posix": "path-browserify",
  process: "./shims/process.js",
  querystring: "querystring-es3",
  stream: "stream-browserify",
  string_decoder: "string_decoder/",
  timers: "./shims/timers.js",
  "timers/promises": "./shims/timers-promises.js",
  url: "./shims/url.js",
  util: "util/",
};
/**
 * Node.js globals that code written for Node uses without importing, and the
 * shim that supplies each: injected only into bundles that mention them.
 */
const NODE_GLOBALS: ReadonlyArray<{ pattern: RegExp; shim: string }> = [
  { pattern: /\bBuffer\b/, shim: BUFFER_SHIM },
  { pattern: /\bprocess\b/, shim: `${SHIMS}process-global.js` },
  { pattern: /\b(set|clear)Immediate\b/, shim: `${SHIMS}immediate-global.js` },
];

/**
 * The syntax esbuild must lower for every engine. StarlingMonkey cannot load a
 * module at run time: an import() that esbuild cannot bundle (its name is
 * computed) would trap the instance with a bare "unreachable". Lowered, it
 * throws "Dynamic require of "x" is not supported", an error the function can
 * see and catch.
 */
const SUPPORTED: Readonly<Record<string, boolean>> = { "dynamic-import": false };

/** A problem in the function's source, with its location when known. */
export interface SourceProblem {
  file?: string;
  line?: number;
  column?: number;
  message: string;
}

/** The source cannot be bundled (syntax error, missing import, missing export...). */
export class BundleError extends Error {
  override name = "BundleError";
  constructor(readonly problems: SourceProblem[]) {
    super(problems.map(formatProblem).join("\n"));
  }
}

export function formatProblem(problem: SourceProblem): string {
  const where = problem.file ? `${problem.file}${problem.line ? `:${problem.line}${problem.column ? `:${problem.column}` : ""}` : ""}: ` : "";
  return `${where}${problem.message}`;
}

export interface Bundle {
  /** The guest module's source. */
  code: string;
  /** Its source map (JSON), from positions in `code` to the project's files. */
  sourceMap: string;
  /** How the entry is written. */
  style: "web" | "lambda";
  sha256: string;
  /** Project-relative paths of the project's own files that went in (for change detection). */
  inputs: string[];
  /** Version of @wfn/sdk that was bundled. */
  sdkVersion: string;
  /** Where that sdk came from. */
  sdkDir: string;
}

export interface BundleOptions {
  /** `auto` detects the style from the entry's exports. */
  style: "auto" | "web" | "lambda";
  /** For Lambda-style functions: what `process.env` holds while the module's top level runs (at build time). */
  lambdaEnv: Record<string, string>;
  /** The engine the bundle is for: QuickJS needs the web globals from the sdk and the async world's `handle`. */
  engine?: "starlingmonkey" | "quickjs";
}

/** Bundles `entry` (relative to `projectDir`). */
export async function bundleFunction(projectDir: string, entry: string, options: BundleOptions): Promise<Bundle> {
  const entryPath = resolve(projectDir, entry);
  const style = detectStyle(entry, await entryExports(projectDir, entryPath), options.style);
  let sdkDir = CLI_SDK_DIR;
  const build = (inject: string[]) => run(projectDir, { ...guestBuild(projectDir, entryPath, style, options, (dir) => (sdkDir = dir)), inject });
  let result = await build([]);
  // Code written for Node.js often uses Buffer, process or setImmediate as globals: supply them, but
  // only to code that does. (A shim's own code can mention another global: a second pass picks it up.)
  const script = (built: typeof result) => built.outputFiles?.find((file) => file.path.endsWith(".js"));
  let injected: string[] = [];
  for (let pass = 0; pass < 3; pass++) {
    const text = script(result)?.text ?? "";
    const wanted = NODE_GLOBALS.filter(({ pattern }) => pattern.test(text)).map(({ shim }) => shim);
    if (wanted.length === injected.length) break;
    injected = wanted;
    result = await build(injected);
  }
  const output = script(result);
  const map = result.outputFiles?.find((file) => file.path.endsWith(".js.map"));
  if (output === undefined || map === undefined) throw new BundleError([{ message: "esbuild produced no output" }]);
  const code = normalizePathComments(output.text, projectDir, sdkDir);
  const inputs = Object.keys(result.metafile?.inputs ?? {})
    .filter((path) => !path.includes("node_modules/") && !path.startsWith("..") && !path.startsWith("<") && !isAbsolute(path) && !path.includes(":"))
    .sort();
  return {
    code,
    sourceMap: normalizeSourceMap(map.text, projectDir, sdkDir),
    style,
    sha256: createHash("sha256").update(code).digest("hex"),
    inputs,
    sdkVersion: await sdkVersion(sdkDir),
    sdkDir,
  };
}

/** The esbuild options of a function's guest module: the SDK's wrapper around the entry, with a source map. */
function guestBuild(projectDir: string, entryPath: string, style: "web" | "lambda", options: BundleOptions, onSdk: (dir: string) => void): esbuild.BuildOptions {
  const create = style === "web" ? `import { createGuest as create } from "@wfn/sdk/guest";` : `import { createLambdaGuest as create } from "@wfn/sdk/guest";`;
  const wrapper = (
    options.engine === "quickjs"
      ? [
          // First, so that the web globals exist before any other module runs.
          `import { asyncHandle } from "@wfn/sdk/guest/quickjs";`,
          `import * as fn from ${JSON.stringify(entryPath)};`,
          create,
          `export const handle = asyncHandle(create(fn));`,
        ]
      : [`import * as fn from ${JSON.stringify(entryPath)};`, create, `export const handle = create(fn);`]
  ).join("\n");
  return {
    stdin: { contents: wrapper, resolveDir: projectDir, sourcefile: "wfn-entry.js", loader: "js" },
    plugins: [guestImports(projectDir, onSdk), ...(options.engine === "quickjs" ? [] : [lowerUnicodePropertyEscapes])],
    sourcemap: "external",
    sourcesContent: false,
    // StarlingMonkey's SpiderMonkey has no Unicode property escapes (/\p{L}/u): a regular expression
    // literal with one is a SyntaxError that stops the whole bundle from loading. The JavaScript files
    // that have one are rewritten with explicit ranges (./unicode-regex.ts); what is left (in
    // TypeScript sources) is lowered to `new RegExp(...)`, so that only the code that runs it throws.
    supported: { ...SUPPORTED, ...(options.engine === "quickjs" ? {} : { "regexp-unicode-property-escapes": false }) },
    // Lambda handlers read process.env at module load, which happens at build time.
    // (The banner runs before any module, so even the entry's top level sees process.env.)
    ...(style === "lambda" ? { banner: { js: `globalThis.process ??= { env: ${JSON.stringify(options.lambdaEnv)} };` } } : {}),
  };
}

/**
 * The guest module of {@link bundleFunction} as a script for Node.js, for
 * wfn build's quick check of the module's top level (./precheck.ts): the
 * same wrapper and sources, the host's imports (`wasi:*`, `wfn:*`) stubbed,
 * with its source map. Undefined when it cannot be made a script (a
 * top-level await, say): the check is then left to componentizing.
 */
export async function bundleForCheck(projectDir: string, entry: string, options: BundleOptions): Promise<{ code: string; sourceMap: string } | undefined> {
  const entryPath = resolve(projectDir, entry);
  try {
    const style = detectStyle(entry, await entryExports(projectDir, entryPath), options.style);
    const guest = guestBuild(projectDir, entryPath, style, options, () => {});
    const result = await run(projectDir, {
      ...guest,
      plugins: [stubbedHostImports, ...(guest.plugins ?? [])],
      inject: NODE_GLOBALS.map(({ shim }) => shim),
      format: "iife",
      external: [],
    });
    const code = result.outputFiles?.find((file) => file.path.endsWith(".js"))?.text;
    const map = result.outputFiles?.find((file) => file.path.endsWith(".js.map"))?.text;
    return code === undefined || map === undefined ? undefined : { code, sourceMap: normalizeSourceMap(map, projectDir, CLI_SDK_DIR) };
  } catch {
    return undefined;
  }
}

/** The host's imports, for the check in Node.js: any name, a function that throws when called. */
const stubbedHostImports: esbuild.Plugin = {
  name: "wfn-stub-host-imports",
  setup(build) {
    build.onResolve({ filter: /^(wasi|wfn):/ }, (args) => ({ path: args.path, namespace: "wfn-host-import" }));
    build.onLoad({ filter: /.*/, namespace: "wfn-host-import" }, (args) => ({
      loader: "js",
      contents: `const unavailable = (name) => function () { throw new Error(${JSON.stringify(args.path)} + "#" + name + " is not available while the module loads"); };
module.exports = new Proxy({}, { get: (_, name) => (name === "__esModule" ? false : typeof name === "string" ? unavailable(name) : undefined) });`,
    }));
  },
};

function detectStyle(entry: string, exports: string[], configured: BundleOptions["style"]): "web" | "lambda" {
  const web = exports.includes("default");
  const lambda = exports.includes("handler");
  if (configured === "web" && !web) {
    throw new BundleError([{ file: entry, message: "has no default export; a web-style function's entry must `export default defineFunction({ ... })` (from \"@wfn/sdk\")" }]);
  }
  if (configured === "lambda" && !lambda) {
    throw new BundleError([{ file: entry, message: "has no `handler` export; a Lambda-style entry must `export const handler = async (event, context) => { ... }`" }]);
  }
  if (configured !== "auto") return configured;
  if (web) return "web";
  if (lambda) return "lambda";
  throw new BundleError([
    {
      file: entry,
      message:
        "has no default export and no `handler` export; export `default defineFunction({ ... })` (from \"@wfn/sdk\") or, Lambda-style, `const handler = async (event, context) => { ... }`",
    },
  ]);
}

/** The entry's export names; a CommonJS entry (`exports.handler = ...`) counts as exporting `handler`. */
async function entryExports(projectDir: string, entryPath: string): Promise<string[]> {
  const result = await run(projectDir, { entryPoints: [entryPath], plugins: [guestImports(projectDir, () => {})] });
  const output = Object.values(result.metafile?.outputs ?? {})[0];
  const input = Object.entries(result.metafile?.inputs ?? {}).find(([path]) => resolve(projectDir, path) === entryPath)?.[1];
  if (input?.format === "cjs") return ["handler"];
  return output?.exports ?? [];
}

async function run(projectDir: string, options: esbuild.BuildOptions): Promise<esbuild.BuildResult<{ metafile: true; write: false }>> {
  try {
    // Imported when a build runs, not whenever the CLI starts (`wfn serve` of a built project never bundles).
    const { build } = await import("esbuild");
    return await build({
      absWorkingDir: projectDir,
      bundle: true,
      write: false,
      metafile: true,
      format: "esm",
      // The browser platform honours packages' "browser" fields, as the web runtimes' bundlers do: the
      // Node polyfills (inherits, readable-stream, util) depend on them to avoid require cycles through
      // the built-ins, and a package's browser build is the one written for a web-standard sandbox.
      platform: "browser",
      target: "es2022",
      supported: SUPPORTED,
      mainFields: ["browser", "module", "main"],
      conditions: ["workerd", "worker", "browser", "import", "default"],
      resolveExtensions: [".ts", ".tsx", ".mts", ".js", ".mjs", ".jsx", ".json"],
      external: GUEST_IMPORTS,
      define: { "process.env.NODE_ENV": '"production"' },
      keepNames: true,
      legalComments: "none",
      charset: "utf8",
      logLevel: "silent",
      outfile: "function.js",
      ...options,
    }) as esbuild.BuildResult<{ metafile: true; write: false }>;
  } catch (error) {
    const failure = error as esbuild.BuildFailure;
    if (!Array.isArray(failure.errors)) throw error;
    throw new BundleError(
      failure.errors.map((message) => ({
        ...(message.location ? { file: message.location.file, line: message.location.line, column: message.location.column + 1 } : {}),
        message: message.text,
      })),
    );
  }
}

/** Resolves @wfn/sdk (project first, then the CLI's) and refuses Node built-ins with a clear reason. */
function guestImports(projectDir: string, onSdk: (dir: string) => void): esbuild.Plugin {
  return {
    name: "wfn-guest-imports",
    setup(build) {
      build.onResolve({ filter: /^@wfn\/sdk(\/.*)?$/ }, async (args) => {
        if (args.pluginData === "wfn-retry") return undefined;
        const own = await build.resolve(args.path, { kind: args.kind, resolveDir: args.resolveDir, importer: args.importer, pluginData: "wfn-retry" });
        if (own.errors.length === 0) {
          onSdk(packageRoot(own.path));
          return own;
        }
        const fallback = await build.resolve(args.path, { kind: args.kind, resolveDir: CLI_SDK_DIR, pluginData: "wfn-retry" });
        if (fallback.errors.length > 0) return { errors: fallback.errors };
        onSdk(CLI_SDK_DIR);
        return fallback;
      });
      build.onResolve({ filter: /^[a-z_:/]+$/ }, async (args) => {
        if (!NODE_BUILTINS.has(args.path)) return undefined;
        const polyfill = NODE_POLYFILLS[args.path.replace(/^node:/, "")];
        if (polyfill === undefined) return { errors: [{ text: nodeModuleExplanation(args.path) }] };
        const found = await build.resolve(polyfill, { kind: args.kind, resolveDir: CLI_DIR, pluginData: "wfn-retry" });
        return found.errors.length > 0 ? { errors: found.errors } : found;
      });
      void projectDir;
    },
  };
}

/** Whether `name` is one of Node.js's built-in modules (`fs`, `node:fs`). */
export function isNodeBuiltin(name: string): boolean {
  return NODE_BUILTINS.has(name);
}

/** Whether `name` is a Node.js module that builds bundle a browser implementation of (`buffer`, `node:events`...). */
export function isPolyfilledBuiltin(name: string): boolean {
  return NODE_POLYFILLS[name.replace(/^node:/, "")] !== undefined;
}

/** wfn's sentence for an import of Node.js's built-in module `name`, for the bundler and the type checker alike. */
export function nodeModuleExplanation(name: string): string {
  const supplied = Object.keys(NODE_POLYFILLS).map((module) => `"${module}"`).join(", ");
  return `"${name}" is a Node.js module; wfn functions run in a WebAssembly sandbox with web-standard APIs (fetch, Request, Response, crypto, TextEncoder...) and, of Node.js's modules, only ${supplied} (bundled from their browser implementations)`;
}

function packageRoot(file: string): string {
  let dir = dirname(file);
  while (dirname(dir) !== dir) {
    if (dir.endsWith(join("node_modules", "@wfn", "sdk")) || dir === CLI_SDK_DIR) return dir;
    dir = dirname(dir);
  }
  return CLI_SDK_DIR;
}

async function sdkVersion(dir: string): Promise<string> {
  try {
    return (JSON.parse(await readFile(join(dir, "package.json"), "utf8")) as { version: string }).version;
  } catch {
    return "unknown";
  }
}

/**
 * esbuild marks each module with a `// path` comment relative to the project.
 * Paths outside the project (the CLI's own sdk, say) differ between machines;
 * they are rewritten to package-relative names so builds stay reproducible.
 */
function normalizePathComments(code: string, projectDir: string, sdkDir: string): string {
  const name = sourceName(projectDir, sdkDir);
  return code.replace(/^\/\/ (\.\.\/\S*)$/gm, (_line, path: string) => `// ${name(path)}`);
}

/**
 * How a path esbuild gives relative to the project (in a `// path` comment or
 * a source map's `sources`) is named in the output: a package's own
 * (`node_modules/x/y.js`, `@wfn/sdk/...`, `@wfn/cli/...`) when it lies
 * outside the project, so that builds stay the same on every machine.
 */
function sourceName(projectDir: string, sdkDir: string): (path: string) => string {
  const sdkRelative = relative(projectDir, sdkDir);
  const cliRelative = relative(projectDir, CLI_DIR);
  return (path) => {
    if (!path.startsWith("../")) return path;
    const at = path.lastIndexOf("node_modules/");
    if (at >= 0) return path.slice(at);
    if (path.startsWith(sdkRelative + "/")) return `@wfn/sdk/${path.slice(sdkRelative.length + 1)}`;
    if (path.startsWith(cliRelative + "/")) return `@wfn/cli/${path.slice(cliRelative.length + 1)}`;
    return path;
  };
}

/** The bundle's source map with its sources named as {@link sourceName} does, and nothing machine-specific. */
function normalizeSourceMap(text: string, projectDir: string, sdkDir: string): string {
  const map = JSON.parse(text) as { sources: string[]; sourceRoot?: string };
  const name = sourceName(projectDir, sdkDir);
  map.sources = map.sources.map(name);
  delete map.sourceRoot;
  return JSON.stringify(map);
}
