// Functions written in C: clang compiles the entry with the SDK's wfn_http.c
// (sdk/c/) for wasm32-wasi against wasi-libc, as a reactor; the core module
// then gets the wasi:http/proxy@0.2.12 world embedded and becomes a component
// with jco's wasi_snapshot_preview1 reactor adapter, which turns libc's
// preview1 calls (printf, the clock, random) into WASI 0.2 imports.
import { execFile } from "node:child_process";
import { cp, mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { dirname, isAbsolute, join, relative, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import type { SourceProblem } from "./bundle.js";

/** The wasi:http version the C library speaks: the one jco's adapter imports WASI at, so the component imports one version. */
export const C_WASI_VERSION = "0.2.12";

/** How to get a C toolchain for WebAssembly, for the error that says it is missing. */
const INSTALL_HINT =
  "install clang, lld, wasi-libc and the wasm32 compiler runtime (Debian or Ubuntu: apt-get install -y clang lld wasi-libc libclang-rt-dev-wasm32), or set WFN_CLANG to such a clang";

/** True when `entry` is C source. */
export function isCEntry(entry: string): boolean {
  return /\.c$/i.test(entry);
}

/** A C entry that does not compile, or a toolchain that is missing: `problems` say which. */
export class CBuildError extends Error {
  override name = "CBuildError";
  /** True when the toolchain, not the source, is at fault. */
  readonly missingToolchain: boolean;
  constructor(readonly problems: SourceProblem[]) {
    super(problems[0]?.message ?? "C build failed");
    this.missingToolchain = problems.some((problem) => problem.message.endsWith(INSTALL_HINT));
  }
}

/** What compiling a C entry produced. */
export interface CompiledC {
  component: Uint8Array;
  /** Project-relative files the compiler read (the entry and the project's headers it included). */
  inputs: string[];
  /** e.g. "C, clang 14.0.6". */
  kind: string;
}

/** Compiles `entry` (relative to `projectDir`) with the C library in `sdkDir/c` into a wasi:http/proxy component. */
export async function buildC(projectDir: string, entry: string, sdkDir: string): Promise<CompiledC> {
  const clang = process.env.WFN_CLANG ?? "clang";
  const work = await mkdtemp(join(tmpdir(), "wfn-c-"));
  try {
    const core = join(work, "core.wasm");
    const depfile = join(work, "deps.d");
    const library = join(sdkDir, "c");
    const flags = ["--target=wasm32-wasi", "-mexec-model=reactor", "-O2", "-Wall", `-I${library}`];
    const version = await run(clang, ["--version"]).catch(() => undefined);
    if (version === undefined) throw new CBuildError([{ file: entry, message: `building a C function needs clang (${JSON.stringify(clang)} was not found): ${INSTALL_HINT}` }]);
    // The entry alone first, for its diagnostics and the headers it includes; then the link with the library.
    const object = join(work, "entry.o");
    const compiled = await run(clang, [...flags, "-c", "-MMD", "-MF", depfile, "-o", object, join(projectDir, entry)], projectDir);
    if (compiled.code !== 0) throw new CBuildError(diagnostics(compiled.stderr, projectDir, entry));
    const linked = await run(clang, [...flags, "-o", core, object, join(library, "wfn_http.c"), "-Wl,--strip-debug"], projectDir);
    if (linked.code !== 0) throw new CBuildError(diagnostics(linked.stderr, projectDir, entry));
    const component = await componentize(await readFile(core), work);
    const inputs = await includedFiles(depfile, projectDir, entry);
    return { component, inputs, kind: `C, clang ${/version (\S+)/.exec(version.stdout)?.[1] ?? "?"}` };
  } finally {
    await rm(work, { recursive: true, force: true });
  }
}

/** The core module with wasi:http/proxy embedded and the preview1 adapter applied. */
async function componentize(core: Uint8Array, work: string): Promise<Uint8Array> {
  const jco = dirname(dirname(fileURLToPath(import.meta.resolve("@bytecodealliance/jco"))));
  const wit = join(work, "wit");
  await cp(join(jco, "lib", "wit", "builtin", C_WASI_VERSION), join(wit, "deps"), { recursive: true });
  await writeFile(join(wit, "world.wit"), `package wfn:c-function;\n\nworld function {\n  include wasi:http/proxy@${C_WASI_VERSION};\n}\n`);
  const { _setPreopens } = (await import("@bytecodealliance/preview2-shim/filesystem")) as { _setPreopens(preopens: Record<string, string>): void };
  _setPreopens({ "/": "/" });
  const { componentEmbed, componentNew } = await import("@bytecodealliance/jco-transpile/wasm-tools");
  const adapter = await readFile(join(jco, "lib", "wasi_snapshot_preview1.reactor.wasm"));
  try {
    return await componentNew(await componentEmbed({ binary: core, witPath: wit, world: "function" }), [["wasi_snapshot_preview1", adapter]]);
  } catch (error) {
    const message = (error instanceof Error ? error.message : String(error)).split("\n")[0]!.slice(0, 300);
    throw new CBuildError([{ message: `the compiled module is not a wasi:http/proxy component (does it define wfn_handle?): ${message}` }]);
  }
}

/** clang's diagnostics as problems: `file:line:col: error: message` lines, the rest kept as context. */
function diagnostics(stderr: string, projectDir: string, entry: string): SourceProblem[] {
  const problems: SourceProblem[] = [];
  for (const line of stderr.split("\n")) {
    const match = /^(.+?):(\d+):(\d+): (?:fatal )?error: (.*)$/.exec(line);
    if (match !== null) {
      const file = isAbsolute(match[1]!) ? relative(projectDir, match[1]!) : match[1]!;
      problems.push({ file, line: Number(match[2]), column: Number(match[3]), message: explained(match[4]!) ?? match[4]! });
    } else if (/error: /.test(line) && !/linker command failed/.test(line) && problems.length < 20) {
      problems.push({ file: entry, message: explained(line) ?? line.replace(/^.*?error: /, "") });
    }
  }
  return problems.length > 0 ? problems : [{ file: entry, message: stderr.trim().split("\n").slice(-5).join("\n") || "clang failed" }];
}

/** Plainer words for the errors that mean a part of the toolchain, or wfn_handle, is missing. */
function explained(message: string): string | undefined {
  if (/undefined symbol: wfn_handle/.test(message)) return "defines no `void wfn_handle(wfn_request *request, wfn_response *response)` (see wfn_http.h)";
  if (/libclang_rt\.builtins-wasm32\.a/.test(message)) return `clang's wasm32 compiler runtime is missing: ${INSTALL_HINT}`;
  if (/'(stdio|stdlib|string|stddef|stdint)\.h' file not found/.test(message)) return `wasi-libc's headers are missing: ${INSTALL_HINT}`;
  if (/unable to execute command|wasm-ld.*not found|No such file or directory.*wasm-ld/.test(message)) return `the linker wasm-ld is missing: ${INSTALL_HINT}`;
  if (/No available targets are compatible|unknown target/.test(message)) return `this clang cannot target wasm32-wasi: ${INSTALL_HINT}`;
  return undefined;
}

/** The project's files in clang's dependency list (make syntax): the entry first. */
async function includedFiles(depfile: string, projectDir: string, entry: string): Promise<string[]> {
  const text = await readFile(depfile, "utf8").catch(() => "");
  const files = text
    .replace(/\\\n/g, " ")
    .split(/:\s/)
    .slice(1)
    .join(" ")
    .split(/\s+/)
    .filter((file) => file !== "")
    .map((file) => relative(projectDir, resolve(projectDir, file)).replaceAll("\\", "/"))
    .filter((file) => !file.startsWith("..") && !isAbsolute(file));
  return [...new Set([entry.replaceAll("\\", "/"), ...files])];
}

interface Ran {
  code: number;
  stdout: string;
  stderr: string;
}

/** Runs a program; rejects only when it cannot be started. */
function run(program: string, args: string[], cwd?: string): Promise<Ran> {
  return new Promise((resolvePromise, reject) => {
    execFile(program, args, { cwd, maxBuffer: 4 * 1024 * 1024 }, (error, stdout, stderr) => {
      if (error !== null && typeof error.code !== "number") reject(error);
      else resolvePromise({ code: error === null ? 0 : (error.code as number), stdout, stderr });
    });
  });
}
