// The host's operations API under /_wfn/: queues (send, inspect, dead
// letters, redrive), schedules, failed asynchronous invocations, and the
// storage-notification webhook. JSON in, JSON out; errors as the host's JSON
// errors. Translation only.
import { randomBytes } from "node:crypto";
import type { Context, Hono } from "hono";
import type { EventValue } from "@wfn/sdk/abi";
import type { StorageTriggerConfig } from "../config/function-config.js";
import { WfnError } from "../errors.js";
import type { LogSink } from "../observe/log.js";
import type { AsyncFailure, NewMessage } from "../store/store.js";
import { readRequestBody } from "../http/body.js";
import type { Queues } from "../triggers/queues.js";
import type { Schedules } from "../triggers/schedules.js";
import { storageRecords } from "../triggers/storage.js";
import { bearerToken, configuredSecret, safeEqual } from "../util/secrets.js";

export interface OperationsHost {
  queues: Queues;
  schedules: Schedules;
  asyncFailures(functionName: string | undefined, limit: number): Promise<AsyncFailure[]>;
  asyncPending(): Promise<number>;
  /** The storage trigger of a function, or undefined when it has none (or does not exist). */
  storageTrigger(name: string): StorageTriggerConfig | undefined;
  /** Accepts an asynchronous invocation (durably) and returns when it is stored; no qualifier means `$LATEST`. */
  acceptAsync(name: string, event: EventValue, requestId: string, qualifier?: string): Promise<void>;
  /** The qualifier routed traffic goes to (undefined: `$LATEST`). */
  trafficQualifier(name: string): string | undefined;
  /** Largest asynchronous invocation payload: a storage notification becomes one. */
  readonly maxAsyncPayloadBytes: number;
  readonly log: LogSink;
}

/**
 * Largest body of a queue send: a batch of up to 100 messages whose bodies
 * are at most 256 KiB each. SQS caps a whole batch at the size of one
 * message; 1 MiB allows one largest message with room for JSON escaping and
 * attributes, or a batch of smaller ones, and no more.
 */
export const MAX_SEND_REQUEST_BYTES = 1024 * 1024;

/** Compared against when there is no secret to compare with, so that a refusal takes as long whatever its reason. */
const DUMMY_SECRET = randomBytes(32).toString("hex");

/** How often, at most, an unset storage secret is reported per function. */
const MISCONFIGURED_WARNING_MS = 60_000;

type App = Hono<{ Variables: { requestId: string } }>;

/** Mounts the operations routes on a host's app. */
export function mountOperations(app: App, host: OperationsHost): void {
  const warnedAt = new Map<string, number>();

  app.get("/_wfn/queues", async (c) => c.json({ queues: await host.queues.stats() }));

  app.post(
    "/_wfn/queues/:name/messages",
    async (c) => {
      const body = await readJson(c, MAX_SEND_REQUEST_BYTES);
      const single = body !== null && typeof body === "object" && "body" in body;
      const batch = body !== null && typeof body === "object" && Array.isArray((body as { messages?: unknown }).messages);
      if (!single && !batch) throw new WfnError("WFN_INVALID_REQUEST", 'send {"body": "...", "attributes": {...}} or {"messages": [{"body": "..."}, ...]}');
      const messages = (single ? [body] : (body as { messages: unknown[] }).messages) as NewMessage[];
      const ids = await host.queues.send(c.req.param("name")!, messages);
      return c.json(single ? { messageId: ids[0] } : { messageIds: ids }, 201);
    },
  );

  app.get(
    "/_wfn/queues/:name/messages",
    async (c) => c.json({ messages: await host.queues.peek(c.req.param("name")!, limit(c.req.query("limit"))) }),
  );

  app.get(
    "/_wfn/queues/:name/dead-letters",
    async (c) => c.json({ messages: await host.queues.deadLetters(c.req.param("name")!, limit(c.req.query("limit"))) }),
  );

  app.post("/_wfn/queues/:name/redrive", async (c) => c.json({ moved: await host.queues.redrive(c.req.param("name")!) }));

  app.get("/_wfn/schedules", async (c) => c.json({ schedules: await host.schedules.list() }));

  app.get(
    "/_wfn/async",
    async (c) =>
      c.json({ pending: await host.asyncPending(), failures: await host.asyncFailures(c.req.query("function"), limit(c.req.query("limit"))) }),
  );

  app.post(
    "/_wfn/events/storage/:function",
    async (c) => {
      const name = c.req.param("function")!;
      // Whether the function exists, has a storage trigger or has its secret set, a caller without the
      // secret gets the same answer in the same time: the webhook does not tell who is there.
      const trigger = host.storageTrigger(name);
      const expected = trigger === undefined ? undefined : configuredSecret(trigger.secret);
      const token = c.req.header("x-wfn-secret") ?? bearerToken(c.req.header("authorization"));
      const matches = safeEqual(token ?? "", expected ?? DUMMY_SECRET);
      if (trigger !== undefined && expected === undefined) {
        const now = Date.now();
        if (now - (warnedAt.get(name) ?? 0) >= MISCONFIGURED_WARNING_MS) {
          warnedAt.set(name, now);
          host.log({ time: now, level: "warn", source: "host", function: name, requestId: c.get("requestId"), message: `storage notification refused: the storage trigger of ${name} reads its secret from ${trigger.secret.slice(4)}, which is not set in the host's environment` });
        }
      }
      if (trigger === undefined || expected === undefined || token === undefined || !matches) {
        throw new WfnError("WFN_UNAUTHORIZED", "missing or wrong storage trigger secret");
      }
      // The notification becomes an asynchronous invocation: its body is held to that payload limit while it is read.
      const records = storageRecords(await readJson(c, host.maxAsyncPayloadBytes, "A storage notification"), trigger);
      if (records.length === 0) return c.json({ accepted: 0 }, 200);
      const requestId = c.get("requestId");
      await host.acceptAsync(name, { tag: "storage", val: records }, requestId, host.trafficQualifier(name));
      return c.json({ accepted: records.length, requestId }, 202);
    },
  );
}

async function readJson(c: Context, limit: number, what = "The body"): Promise<unknown> {
  const text = new TextDecoder().decode(await readRequestBody(c, limit, what));
  try {
    return JSON.parse(text);
  } catch (error) {
    throw new WfnError("WFN_INVALID_REQUEST", `the body is not JSON: ${(error as Error).message}`);
  }
}

/** A `limit` query parameter: 1 to 10 000, default 100. */
function limit(value: string | undefined): number {
  if (value === undefined) return 100;
  const n = Number(value);
  if (!Number.isInteger(n) || n < 1 || n > 10_000) throw new WfnError("WFN_INVALID_REQUEST", `limit must be a whole number from 1 to 10000, got "${value}"`);
  return n;
}
