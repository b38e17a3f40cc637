// The guest glue: adapts the world's `handle(event, context)` export to the
// handlers a function defined with defineFunction(). `wfn build` generates an
// entry that does `export const handle = createGuest(userModule)`.
//
// Module top level runs at build time (the component is pre-initialised), so
// nothing here may call a host import before the first invocation.
import { getEnvironment } from "wasi:cli/environment@0.2.10";
import { log } from "wfn:function/host@0.1.0";
import type {
  ContextRecord,
  EventValue,
  HandleResult,
  OutcomeValue,
  QueueBatchRecord,
  ScheduleEventRecord,
  StorageRecordValue,
} from "../abi.js";
import { isFunctionDefinition } from "../index.js";
import type { Context, FunctionDefinition, MessageBatch, QueueMessage, StorageRecord } from "../types.js";
import { routeConsole } from "./console.js";
import { createContext } from "./context.js";
import { FunctionShapeError, toFunctionError } from "./errors.js";
import { guardFetch } from "./fetch.js";
import { fromResponse, toRequest } from "./http.js";

/** The world's export, as implemented in JavaScript. */
export type Handle = (event: EventValue, context: ContextRecord) => Promise<HandleResult>;

const encoder = new TextEncoder();

/**
 * Wraps a function module (whose default export comes from defineFunction())
 * into the world's `handle` export.
 *
 * @throws FunctionShapeError at build time when the module has no such default export.
 */
export function createGuest(module: Record<string, unknown>): Handle {
  const definition = module.default;
  if (!isFunctionDefinition(definition)) {
    throw new FunctionShapeError(
      "the entry module must `export default defineFunction({ ... })` (imported from \"@wfn/sdk\")",
    );
  }
  routeConsole(log);
  guardFetch();
  let env: Readonly<Record<string, string>> | undefined;
  return async function handle(event, record) {
    env ??= Object.freeze(Object.fromEntries(getEnvironment()));
    const ctx = createContext(record, env);
    try {
      return { tag: "ok", val: await dispatch(definition, event, ctx) };
    } catch (thrown) {
      return { tag: "err", val: toFunctionError(thrown) };
    }
  };
}

async function dispatch(fn: FunctionDefinition, event: EventValue, ctx: Context): Promise<OutcomeValue> {
  switch (event.tag) {
    case "http": {
      const fetch = required(fn.fetch, "fetch", "HTTP requests");
      return { tag: "http", val: await fromResponse(await fetch.call(fn, toRequest(event.val), ctx)) };
    }
    case "invoke": {
      const payload: unknown = JSON.parse(event.val.payload);
      if (fn.invoke) return json(await fn.invoke(payload, ctx));
      const fetch = required(fn.fetch, "invoke", "direct invocations");
      const request = new Request("http://localhost/", {
        method: "POST",
        headers: { "content-type": "application/json" },
        body: event.val.payload,
      });
      return { tag: "http", val: await fromResponse(await fetch.call(fn, request, ctx)) };
    }
    case "schedule": {
      const scheduled = required(fn.scheduled, "scheduled", "schedule firings");
      await scheduled.call(fn, toScheduledEvent(event.val), ctx);
      return json(null);
    }
    case "queue": {
      const queue = required(fn.queue, "queue", "queue messages");
      const { batch, failures } = toMessageBatch(event.val);
      await queue.call(fn, batch, ctx);
      return json({ batchItemFailures: [...failures].map((itemIdentifier) => ({ itemIdentifier })) });
    }
    case "storage": {
      const storage = required(fn.storage, "storage", "storage notifications");
      await storage.call(fn, event.val.map(toStorageRecord), ctx);
      return json(null);
    }
  }
}

function required<T>(handler: T | undefined, name: string, what: string): T {
  if (handler === undefined) {
    throw new FunctionShapeError(`this function has no \`${name}\` handler, so it cannot handle ${what}`);
  }
  return handler;
}

function json(value: unknown): OutcomeValue {
  return { tag: "payload", val: encoder.encode(JSON.stringify(value === undefined ? null : value)) };
}

function toScheduledEvent(record: ScheduleEventRecord) {
  return { id: record.id, name: record.name, expression: record.expression, scheduledTime: new Date(record.time) };
}

function toMessageBatch(record: QueueBatchRecord): { batch: MessageBatch; failures: Set<string> } {
  const failures = new Set<string>();
  const messages: QueueMessage[] = record.messages.map((m) => ({
    id: m.id,
    body: m.body,
    attributes: Object.freeze(Object.fromEntries(m.attributes)),
    attempts: m.receiveCount,
    timestamp: new Date(Number(m.sentTimestamp)),
    retry: () => void failures.add(m.id),
  }));
  const batch: MessageBatch = {
    queue: record.queue,
    messages,
    retryAll: () => messages.forEach((m) => failures.add(m.id)),
  };
  return { batch, failures };
}

function toStorageRecord(record: StorageRecordValue): StorageRecord {
  return {
    eventName: record.eventName,
    eventTime: new Date(record.eventTime),
    bucket: record.bucket,
    key: record.key,
    size: Number(record.size),
    etag: record.etag,
    ...(record.versionId === undefined ? {} : { versionId: record.versionId }),
    raw: JSON.parse(record.raw),
  };
}

export { createLambdaGuest } from "./lambda.js";
