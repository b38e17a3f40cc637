// @wfn/sdk: what a function author imports.
import { FUNCTION_BRAND, type FunctionDefinition, type FunctionHandlers } from "./types.js";

export type {
  Context,
  FunctionDefinition,
  FunctionHandlers,
  KvListOptions,
  KvListPage,
  KvNamespace,
  KvSetOptions,
  MessageBatch,
  QueueMessage,
  ScheduledEvent,
  StorageRecord,
} from "./types.js";

const HANDLER_NAMES = ["fetch", "invoke", "scheduled", "queue", "storage"] as const;

/**
 * Declares a wfn function. Export the result as the module's default export:
 *
 * ```ts
 * import { defineFunction } from "@wfn/sdk";
 * export default defineFunction({
 *   async fetch(request, ctx) {
 *     return Response.json({ hello: "world", id: ctx.requestId });
 *   },
 * });
 * ```
 *
 * @throws TypeError when no handler is given or a handler is not a function.
 */
export function defineFunction<const H extends FunctionHandlers>(handlers: H): FunctionDefinition<H> {
  if (handlers === null || typeof handlers !== "object") {
    throw new TypeError("defineFunction() takes an object of handlers, such as { fetch(request, ctx) { ... } }");
  }
  const present = HANDLER_NAMES.filter((name) => handlers[name] !== undefined);
  if (present.length === 0) {
    throw new TypeError(`defineFunction() needs at least one handler: ${HANDLER_NAMES.join(", ")}`);
  }
  for (const name of present) {
    if (typeof handlers[name] !== "function") {
      throw new TypeError(`defineFunction(): "${name}" must be a function, got ${typeof handlers[name]}`);
    }
  }
  return { ...handlers, [FUNCTION_BRAND]: true as const };
}

/** Whether a value was made by {@link defineFunction}. */
export function isFunctionDefinition(value: unknown): value is FunctionDefinition {
  return typeof value === "object" && value !== null && (value as Record<symbol, unknown>)[FUNCTION_BRAND] === true;
}
