// wfn build's quick check of a function's module before componentizing it:
// componentize-js runs the module's top level inside the engine (Wizer),
// which takes seconds and reports a failure in the engine's words. The same
// module (./bundle.ts bundleForCheck) runs first in a fresh Node.js context
// with the web globals a function has; a failure there that the function
// would meet too — the SDK refusing the entry's shape, or an error thrown
// from the project's own code — stops the build at once, at the line of the
// project's source. Anything else (a global only the engine has, a
// top-level await) is left to componentizing, which decides.
import { Worker } from "node:worker_threads";
import { StackMapper } from "@wfn/runtime";
import { bundleForCheck, type BundleOptions, type SourceProblem } from "./bundle.js";

/** How long the module's top level may compute in the check; the thread is stopped a little later in any case. */
const CHECK_TIMEOUT_MS = 2_000;

/** Web globals of Node.js that a function's module has at its top level too. */
const WEB_GLOBALS = [
  "URL", "URLSearchParams", "TextEncoder", "TextDecoder", "Headers", "Request", "Response", "FormData", "Blob", "File",
  "AbortController", "AbortSignal", "Event", "EventTarget", "ReadableStream", "WritableStream", "TransformStream",
  "crypto", "atob", "btoa", "structuredClone", "queueMicrotask", "performance", "DOMException",
] as const;

/**
 * The check's thread: runs the script in a fresh context, then lets its
 * promise jobs run for a turn, and says what was thrown (a promise the
 * module left rejected and unhandled ends the thread with that error, which
 * the engine would report as well). A thread of its own, so that nothing the
 * module starts can reach the CLI's process.
 */
const CHECK_THREAD = `
const { parentPort, workerData } = require("node:worker_threads");
const { createContext, runInContext } = require("node:vm");
const globals = { console: { log() {}, info() {}, warn() {}, error() {}, debug() {}, trace() {} } };
for (const name of workerData.webGlobals) globals[name] = globalThis[name];
// Nothing goes out, and no timer fires, while the module loads (nor does it in the engine).
globals.fetch = () => Promise.reject(new TypeError("fetch() is not available while the module loads; call it in a handler"));
globals.setTimeout = globals.setInterval = () => 0;
globals.clearTimeout = globals.clearInterval = () => {};
const describe = (error) => ({ name: String(error?.name), message: String(error?.message), stack: typeof error?.stack === "string" ? error.stack : undefined });
try {
  runInContext(workerData.code, createContext(globals), { filename: "function.js", timeout: workerData.timeoutMs });
  setImmediate(() => parentPort.postMessage({ ok: true }));
} catch (error) {
  parentPort.postMessage({ thrown: describe(error) });
}
`;

interface Thrown {
  name: string;
  message: string;
  stack: string | undefined;
}

/** What stops the build, found before componentizing; undefined when the check finds nothing it is sure of. */
export async function precheck(projectDir: string, entry: string, options: BundleOptions): Promise<SourceProblem | undefined> {
  const script = await bundleForCheck(projectDir, entry, options);
  if (script === undefined) return undefined;
  const thrown = await runCheck(script.code);
  return thrown === undefined ? undefined : explain(thrown, entry, new StackMapper(script.sourceMap));
}

/** Runs the script in the check's thread: what it threw, if anything (an inconclusive run counts as nothing). */
function runCheck(code: string): Promise<Thrown | undefined> {
  return new Promise((resolve) => {
    const worker = new Worker(CHECK_THREAD, { eval: true, workerData: { code, webGlobals: WEB_GLOBALS, timeoutMs: CHECK_TIMEOUT_MS }, stdout: true, stderr: true });
    const done = (result: Thrown | undefined) => {
      clearTimeout(timer);
      resolve(result);
      void worker.terminate();
    };
    const timer = setTimeout(() => done(undefined), CHECK_TIMEOUT_MS * 2);
    worker.once("message", (message: { ok?: true; thrown?: Thrown }) => done(message.thrown));
    worker.once("error", (error: Error) => done({ name: error.name, message: error.message, stack: error.stack }));
    worker.once("exit", () => done(undefined));
  });
}

/** The problem to report for what the top level threw, when it is one the function would meet as well. */
function explain({ name, message, stack }: Thrown, entry: string, stacks: StackMapper): SourceProblem | undefined {
  // V8's frames ("at need (src/index.ts:2:45)", once mapped); Node.js puts the failing line before them for code run in a context.
  const all = stack !== undefined ? stacks.map(stack).split("\n").map((line) => line.trim()).filter((line) => line.startsWith("at ")) : [];
  // The module's frames end where the check's own (node:vm, this file) begin.
  const end = all.findIndex((frame) => frame.includes("node:vm:"));
  const frames = end < 0 ? all : all.slice(0, end);
  const threw = `the module's top level threw: ${name}: ${message}`;
  // Not shown: the build's wrapper module, and the script's own glue that no source maps to.
  const shown = frames.filter((frame) => !frame.includes("wfn-entry.js") && !/\bfunction\.js:/.test(frame) && !frame.includes("node:internal/"));
  const trace = shown.map((frame) => `\n    ${frame}`).join("");
  // The SDK's own refusal of the entry's shape is the same in every engine.
  if (name === "FunctionShapeError") return { file: entry, message: `${threw}${trace}` };
  // A global the engine has and Node.js lacks would be a ReferenceError: the engine decides those.
  if (name === "ReferenceError") return undefined;
  // The innermost frame with a place in a file (not a built-in such as JSON.parse) is where it was thrown.
  const top = frames.map((frame) => /([^\s@():]+\.[cm]?[jt]sx?):(\d+):(\d+)/.exec(frame)).find((match) => match !== null);
  if (top === undefined || /^(@wfn\/|node_modules\/|wfn-entry\.js)/.test(top[1]!)) return undefined;
  return { file: top[1]!, line: Number(top[2]), column: Number(top[3]), message: `${threw}${trace}` };
}
