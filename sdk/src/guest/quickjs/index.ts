// The guest glue for the QuickJS engine (world `function-async`): the web
// globals first, then an adapter from the `handle` that createGuest() and
// createLambdaGuest() make to the one componentize-qjs calls. `wfn build`
// generates `import { asyncHandle } from "@wfn/sdk/guest/quickjs"` as the
// entry's first import, so the globals exist before any other module runs.
import "./globals.js";
import type { ContextRecord, EventValue, HandleResult, OutcomeValue } from "../../abi.js";
import { toFunctionError } from "../errors.js";
import type { Handle } from "../index.js";
import { settle } from "./timers.js";

/**
 * Adapts a `handle` to componentize-qjs's conventions, and runs it to the
 * end (promise jobs and timers, ./timers.ts): an `option` arrives
 * as null (the guest code expects undefined), and a top-level `result` is a
 * returned value or a thrown error record.
 */
export function asyncHandle(handle: Handle): (event: EventValue, context: ContextRecord) => Promise<OutcomeValue> {
  return async function asyncHandle(event, context) {
    let result: HandleResult;
    try {
      // QuickJS has no event loop: settle() runs the promise jobs and timers the handler waits on.
      result = await settle(handle(withoutNulls(event), withoutNulls(context)));
    } catch (thrown) {
      // Anything else thrown from here would trap the instance: only a function-error record may leave.
      throw toFunctionError(thrown);
    }
    if (result.tag === "err") throw result.val;
    return result.val;
  };
}

/** The host's records hold no JSON nulls, so every null in one is an absent option. */
function withoutNulls<T>(value: T): T {
  if (value === null) return undefined as T;
  if (typeof value !== "object" || ArrayBuffer.isView(value)) return value;
  if (Array.isArray(value)) return value.map(withoutNulls) as T;
  const out: Record<string, unknown> = {};
  for (const [key, item] of Object.entries(value)) out[key] = withoutNulls(item);
  return out as T;
}
