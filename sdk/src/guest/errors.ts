// Turns whatever a handler throws into the world's typed error record.
import type { FunctionErrorRecord } from "../abi.js";

/** An error the guest glue raises about the function's own shape or results. */
export class FunctionShapeError extends Error {
  override name = "FunctionShapeError";
}

/** The error type reported when the engine ran out of memory (it throws this string). */
export const OUT_OF_MEMORY_TYPE = "Runtime.OutOfMemory";

/** What the bundle throws for an import() or require() of a module named only at run time. */
const DYNAMIC_REQUIRE = /^Dynamic require of ".*" is not supported$/;
const DYNAMIC_IMPORT_HINT =
  "a wfn function cannot load a module while it runs (an import() or require() whose name is computed); import it with a static import, so that `wfn build` bundles it";

/** Converts a thrown value into a `function-error` record; never throws. */
export function toFunctionError(thrown: unknown): FunctionErrorRecord {
  if (thrown === "out of memory") {
    return { errorType: OUT_OF_MEMORY_TYPE, message: "the function ran out of memory", stack: undefined };
  }
  if (thrown instanceof Error) {
    return {
      errorType: thrown.name || thrown.constructor?.name || "Error",
      message: DYNAMIC_REQUIRE.test(thrown.message) ? `${thrown.message}: ${DYNAMIC_IMPORT_HINT}` : thrown.message,
      stack: typeof thrown.stack === "string" && thrown.stack.length > 0 ? thrown.stack : undefined,
    };
  }
  if (thrown !== null && typeof thrown === "object") {
    const record = thrown as { name?: unknown; message?: unknown };
    return {
      errorType: typeof record.name === "string" ? record.name : "Error",
      message: typeof record.message === "string" ? record.message : safeJson(thrown),
      stack: undefined,
    };
  }
  return { errorType: typeof thrown === "string" ? "string" : "Error", message: String(thrown), stack: undefined };
}

function safeJson(value: unknown): string {
  try {
    return JSON.stringify(value) ?? String(value);
  } catch {
    return String(value);
  }
}
