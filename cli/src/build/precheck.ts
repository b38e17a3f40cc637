// wfn build's quick check of a function's module before componentizing it:
// componentize-js runs the module's top level inside the engine (Wizer),
// which takes seconds and reports a failure in the engine's words. The same
// module (./bundle.ts bundleForCheck) runs first in a fresh Node.js context
// with the web globals a function has; a failure there that the function
// would meet too — the SDK refusing the entry's shape, or an error thrown
// from the project's own code — stops the build at once, at the line of the
// project's source. Anything else (a global only the engine has, a
// top-level await) is left to componentizing, which decides.
import { createContext, runInContext } from "node:vm";
import { StackMapper } from "@wfn/runtime";
import { bundleForCheck, type BundleOptions, type SourceProblem } from "./bundle.js";

/** How long the module's top level may run in the check. */
const CHECK_TIMEOUT_MS = 2_000;

/** Web globals of Node.js that a function's module has at its top level too. */
const WEB_GLOBALS = [
  "URL", "URLSearchParams", "TextEncoder", "TextDecoder", "Headers", "Request", "Response", "FormData", "Blob", "File",
  "AbortController", "AbortSignal", "Event", "EventTarget", "ReadableStream", "WritableStream", "TransformStream",
  "crypto", "atob", "btoa", "structuredClone", "queueMicrotask", "performance", "DOMException",
] as const;

/** What stops the build, found before componentizing; undefined when the check finds nothing it is sure of. */
export async function precheck(projectDir: string, entry: string, options: BundleOptions): Promise<SourceProblem | undefined> {
  const script = await bundleForCheck(projectDir, entry, options);
  if (script === undefined) return undefined;
  const globals: Record<string, unknown> = { console: { log() {}, info() {}, warn() {}, error() {}, debug() {}, trace() {} } };
  for (const name of WEB_GLOBALS) globals[name] = (globalThis as Record<string, unknown>)[name];
  // Nothing goes out, and no timer fires, while the module loads (nor does it in the engine).
  globals.fetch = () => Promise.reject(new TypeError("fetch() is not available while the module loads; call it in a handler"));
  globals.setTimeout = globals.setInterval = () => 0;
  globals.clearTimeout = globals.clearInterval = () => {};
  const context = createContext(globals);
  try {
    runInContext(script.code, context, { filename: "function.js", timeout: CHECK_TIMEOUT_MS });
    return undefined;
  } catch (thrown) {
    return explain(thrown, entry, new StackMapper(script.sourceMap));
  }
}

/** The problem to report for what the top level threw, when it is one the function would meet as well. */
function explain(thrown: unknown, entry: string, stacks: StackMapper): SourceProblem | undefined {
  if (typeof thrown !== "object" || thrown === null) return undefined;
  const { name, message, stack } = thrown as { name?: unknown; message?: unknown; stack?: unknown };
  if (typeof name !== "string" || typeof message !== "string") return undefined;
  // V8's frames ("at need (src/index.ts:2:45)", once mapped); Node.js puts the failing line before them for code run in a context.
  const all = typeof stack === "string" ? stacks.map(stack).split("\n").map((line) => line.trim()).filter((line) => line.startsWith("at ")) : [];
  // The module's frames end where the check's own (node:vm, this file) begin.
  const end = all.findIndex((frame) => frame.includes("node:vm:"));
  const frames = end < 0 ? all : all.slice(0, end);
  const threw = `the module's top level threw: ${name}: ${message}`;
  // Not shown: the build's wrapper module, and the script's own glue that no source maps to.
  const shown = frames.filter((frame) => !frame.includes("wfn-entry.js") && !/\bfunction\.js:/.test(frame));
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
