// Queues: producers send messages (HTTP, embedders, guests); each function
// subscribed to a queue receives them in batches. A message is deleted only
// after the invocation that processed it succeeded (at least once); failed
// ones come back after the queue's visibility timeout, and after
// `maxReceiveCount` deliveries move to the dead-letter queue.
import type { EventValue } from "@wfn/sdk/abi";
import type { QueueConfig, QueueTriggerConfig } from "../config/function-config.js";
import { WfnError } from "../errors.js";
import type { InvocationResult } from "../invocation.js";
import type { LogSink } from "../observe/log.js";
import type { NewMessage, ReceivedMessage, Store, StoredMessage } from "../store/store.js";

/** Largest message, body and attributes (names and values) together, as on SQS. */
const MAX_MESSAGE_BYTES = 256 * 1024;
/** Most attributes on one message, as on SQS. */
const MAX_ATTRIBUTES = 10;
/**
 * Attribute names, as on SQS: up to 256 letters, digits, `_`, `-` and `.`,
 * not starting or ending with a dot, no two dots in a row.
 */
const ATTRIBUTE_NAME = /^(?!\.)(?!.*\.\.)(?!.*\.$)[A-Za-z0-9_.-]{1,256}$/;
/** Prefixes SQS keeps for itself. */
const RESERVED_ATTRIBUTE_PREFIX = /^(aws|amazon)\./i;
const MAX_BATCH_SEND = 100;
const IDLE_POLL_MS = 1000;

export interface QueueStats {
  name: string;
  visible: number;
  inFlight: number;
  deadLetterQueue: string | undefined;
  deadLettered: number;
  consumers: string[];
}

type Run = (name: string, event: EventValue) => Promise<InvocationResult>;

interface Consumer {
  fn: string;
  trigger: QueueTriggerConfig;
  maxBatches: number;
  running: number;
  timer: NodeJS.Timeout | undefined;
  /** When the pending timer fires (epoch ms). */
  dueAt: number;
  stopped: boolean;
}

export class Queues {
  readonly #store: Store;
  readonly #log: LogSink;
  #queues = new Map<string, QueueConfig>();
  /** Every queue of this host: the declared ones and their dead-letter queues. */
  #names = new Set<string>();
  readonly #consumers = new Map<string, Consumer>();
  readonly #inFlight = new Set<Promise<void>>();
  readonly #run: Run;
  #retention: NodeJS.Timeout | undefined;

  constructor(store: Store, run: Run, log: LogSink) {
    this.#store = store;
    this.#run = run;
    this.#log = log;
    this.#retention = setInterval(() => void this.#expire(), 60_000);
    this.#retention.unref();
  }

  /** Declares the app's queues (dead-letter queues exist implicitly). */
  configure(queues: Readonly<Record<string, QueueConfig>>): void {
    this.#queues = new Map(Object.entries(queues));
    this.#names = new Set([...this.#queues.keys(), ...[...this.#queues.values()].map((queue) => queue.deadLetterQueue)]);
  }

  /** Whether `name` is a queue of this host (declared, or a declared queue's dead-letter queue). */
  has(name: string): boolean {
    return this.#names.has(name);
  }

  /** Sends messages; returns their ids. */
  async send(queue: string, messages: NewMessage[]): Promise<string[]> {
    if (!this.has(queue)) throw new WfnError("WFN_QUEUE_NOT_FOUND", `queue "${queue}" does not exist (declare it under "queues" in wfn.json)`);
    if (messages.length === 0) throw new WfnError("WFN_INVALID_REQUEST", "no messages to send");
    if (messages.length > MAX_BATCH_SEND) throw new WfnError("WFN_INVALID_REQUEST", `at most ${MAX_BATCH_SEND} messages per request`);
    messages.forEach((message, index) => checkMessage(message, messages.length > 1 ? `messages[${index}]` : "the message"));
    const ids = await this.#store.sendMessages(queue, messages, Date.now());
    this.#wake(queue);
    return ids;
  }

  async stats(): Promise<QueueStats[]> {
    const now = Date.now();
    const names = [...this.#names].sort();
    // Each queue counted once, also when it is another's dead-letter queue.
    const counted = new Map<string, Awaited<ReturnType<Store["countMessages"]>>>();
    for (const name of names) counted.set(name, await this.#store.countMessages(name, now));
    const out: QueueStats[] = [];
    for (const name of names) {
      const counts = counted.get(name)!;
      const dlq = this.#queues.get(name)?.deadLetterQueue;
      const dead = dlq === undefined ? undefined : counted.get(dlq);
      out.push({
        name,
        visible: counts.visible,
        inFlight: counts.inFlight,
        deadLetterQueue: dlq,
        deadLettered: dead === undefined ? 0 : dead.visible + dead.inFlight,
        consumers: [...this.#consumers.values()].filter((c) => c.trigger.name === name).map((c) => c.fn),
      });
    }
    return out;
  }

  /** The messages of a queue, oldest first, without receiving them. */
  async peek(queue: string, limit = 100): Promise<StoredMessage[]> {
    if (!this.has(queue)) throw new WfnError("WFN_QUEUE_NOT_FOUND", `queue "${queue}" does not exist (declare it under "queues" in wfn.json)`);
    return this.#store.listMessages(queue, limit);
  }

  /** The messages in a queue's dead-letter queue. */
  async deadLetters(queue: string, limit = 100): Promise<StoredMessage[]> {
    return this.#store.listMessages(this.#deadLetterQueue(queue), limit);
  }

  /** Moves a queue's dead letters back to it; returns how many. */
  async redrive(queue: string): Promise<number> {
    const moved = await this.#store.redrive(this.#deadLetterQueue(queue), Date.now());
    this.#wake(queue);
    return moved;
  }

  /** Starts (or updates, or with `trigger` undefined stops) a function's consumption of its queue. */
  subscribe(fn: string, trigger: QueueTriggerConfig | undefined, maxConcurrency: number): void {
    const existing = this.#consumers.get(fn);
    if (existing !== undefined) {
      existing.stopped = true;
      clearTimeout(existing.timer);
      this.#consumers.delete(fn);
    }
    if (trigger === undefined) return;
    const consumer: Consumer = { fn, trigger, maxBatches: Math.max(1, Math.min(maxConcurrency, 10)), running: 0, timer: undefined, dueAt: 0, stopped: false };
    this.#consumers.set(fn, consumer);
    this.#poll(consumer, 0);
  }

  /** Stops consuming; waits for batches being processed. */
  async close(): Promise<void> {
    clearInterval(this.#retention);
    for (const consumer of this.#consumers.values()) {
      consumer.stopped = true;
      clearTimeout(consumer.timer);
    }
    this.#consumers.clear();
    await Promise.all(this.#inFlight);
  }

  #deadLetterQueue(queue: string): string {
    const config = this.#queues.get(queue);
    if (config === undefined) throw new WfnError("WFN_QUEUE_NOT_FOUND", `queue "${queue}" does not exist`);
    return config.deadLetterQueue;
  }

  #wake(queue: string): void {
    for (const consumer of this.#consumers.values()) {
      if (consumer.trigger.name === queue) this.#poll(consumer, consumer.trigger.maxBatchingWindowMs);
    }
  }

  /** Receives after `delayMs`, unless a receive is already due sooner. */
  #poll(consumer: Consumer, delayMs: number): void {
    if (consumer.stopped) return;
    const dueAt = Date.now() + delayMs;
    if (consumer.timer !== undefined && consumer.dueAt <= dueAt) return;
    clearTimeout(consumer.timer);
    consumer.dueAt = dueAt;
    consumer.timer = setTimeout(() => {
      consumer.timer = undefined;
      void this.#receive(consumer);
    }, delayMs);
  }

  async #receive(consumer: Consumer): Promise<void> {
    if (consumer.stopped || consumer.running >= consumer.maxBatches) return;
    const config = this.#queues.get(consumer.trigger.name);
    if (config === undefined) return;
    consumer.running++;
    let batch: ReceivedMessage[] = [];
    try {
      const now = Date.now();
      const received = await this.#store.receiveMessages(consumer.trigger.name, {
        max: consumer.trigger.batchSize,
        visibilityMs: config.visibilityTimeoutSeconds * 1000,
        now,
        deadLetterAfter: config.maxReceiveCount,
        deadLetterQueue: config.deadLetterQueue,
      });
      batch = received.messages;
      if (received.deadLettered > 0) {
        this.#log({
          time: now,
          level: "warn",
          source: "host",
          function: consumer.fn,
          message: `${received.deadLettered} message(s) of queue ${consumer.trigger.name} moved to ${config.deadLetterQueue} after ${config.maxReceiveCount} deliveries`,
        });
      }
    } catch (error) {
      consumer.running--;
      this.#log({ time: Date.now(), level: "error", source: "host", function: consumer.fn, message: `receiving from queue ${consumer.trigger.name}: ${(error as Error).message}` });
      this.#poll(consumer, IDLE_POLL_MS);
      return;
    }
    if (batch.length === 0) {
      consumer.running--;
      this.#poll(consumer, IDLE_POLL_MS);
      return;
    }
    // More may be waiting: start another batch alongside this one.
    this.#poll(consumer, 0);
    const done = this.#process(consumer, batch).finally(() => {
      consumer.running--;
      this.#inFlight.delete(done);
      this.#poll(consumer, 0);
    });
    this.#inFlight.add(done);
  }

  async #process(consumer: Consumer, batch: ReceivedMessage[]): Promise<void> {
    const queue = consumer.trigger.name;
    const event: EventValue = {
      tag: "queue",
      val: {
        queue,
        messages: batch.map((m) => ({
          id: m.id,
          receiptHandle: m.receiptHandle,
          body: m.body,
          attributes: Object.entries(m.attributes),
          receiveCount: m.receiveCount,
          sentTimestamp: BigInt(m.sentAt),
          firstReceiveTimestamp: BigInt(m.firstReceivedAt ?? m.sentAt),
        })),
      },
    };
    let result: InvocationResult;
    try {
      result = await this.#run(consumer.fn, event);
    } catch (error) {
      // Throttled or unavailable: leave the batch in flight; it returns after the visibility timeout.
      this.#log({ time: Date.now(), level: "warn", source: "host", function: consumer.fn, message: `batch of ${batch.length} from queue ${queue} not processed: ${(error as Error).message}` });
      return;
    }
    if (result.status !== "ok") return;
    const failed = failedItems(result, batch);
    if (failed === undefined) return;
    const succeeded = batch.filter((m) => !failed.has(m.id)).map((m) => m.receiptHandle);
    if (succeeded.length > 0) await this.#store.deleteMessages(queue, succeeded);
  }

  async #expire(): Promise<void> {
    const now = Date.now();
    for (const [name, config] of this.#queues) {
      await this.#store.expireMessages(name, now - config.retentionSeconds * 1000);
      await this.#store.expireMessages(config.deadLetterQueue, now - config.retentionSeconds * 1000);
    }
  }
}

function checkMessage(message: NewMessage, what: string): void {
  if (typeof message.body !== "string") throw new WfnError("WFN_INVALID_REQUEST", `${what}: "body" must be a string`);
  const attributes: unknown = message.attributes ?? {};
  if (attributes === null || typeof attributes !== "object" || Array.isArray(attributes)) {
    throw new WfnError("WFN_INVALID_REQUEST", `${what}: "attributes" must be an object of string values`);
  }
  const entries = Object.entries(attributes);
  if (entries.length > MAX_ATTRIBUTES) throw new WfnError("WFN_INVALID_REQUEST", `${what}: at most ${MAX_ATTRIBUTES} attributes per message (got ${entries.length})`);
  let size = Buffer.byteLength(message.body);
  for (const [key, value] of entries) {
    if (!ATTRIBUTE_NAME.test(key) || RESERVED_ATTRIBUTE_PREFIX.test(key)) {
      throw new WfnError(
        "WFN_INVALID_REQUEST",
        `${what}: attribute name ${JSON.stringify(key.length > 64 ? `${key.slice(0, 64)}…` : key)} is not allowed (up to 256 letters, digits, "_", "-" and "."; no leading, trailing or double dots; not starting with "AWS." or "Amazon.")`,
      );
    }
    if (typeof value !== "string") throw new WfnError("WFN_INVALID_REQUEST", `${what}: attribute "${key}" must be a string`);
    size += Buffer.byteLength(key) + Buffer.byteLength(value);
  }
  // Attributes count towards the message's size, as on SQS: they are stored and delivered with it.
  if (size > MAX_MESSAGE_BYTES) throw new WfnError("WFN_PAYLOAD_TOO_LARGE", `${what}: the message (body and attributes) is larger than ${MAX_MESSAGE_BYTES} bytes`, { details: { limit: MAX_MESSAGE_BYTES } });
  if (message.delaySeconds !== undefined && (!Number.isInteger(message.delaySeconds) || message.delaySeconds < 0 || message.delaySeconds > 900)) {
    throw new WfnError("WFN_INVALID_REQUEST", `${what}: "delaySeconds" must be an integer from 0 to 900`);
  }
}

/**
 * The ids the function reported as failed (`batchItemFailures`), or undefined
 * when its answer means the whole batch failed (as on AWS Lambda: malformed,
 * an empty identifier, or an id that was not in the batch).
 */
function failedItems(result: InvocationResult & { status: "ok" }, batch: ReceivedMessage[]): Set<string> | undefined {
  if (result.outcome.tag !== "payload") return new Set();
  let answer: unknown;
  try {
    answer = JSON.parse(new TextDecoder().decode(result.outcome.val));
  } catch {
    return undefined;
  }
  if (answer === null || typeof answer !== "object" || !("batchItemFailures" in answer)) return new Set();
  const items = (answer as { batchItemFailures: unknown }).batchItemFailures;
  if (items === null || items === undefined) return new Set();
  if (!Array.isArray(items)) return undefined;
  const ids = new Set(batch.map((m) => m.id));
  const failed = new Set<string>();
  for (const item of items) {
    const id = (item as { itemIdentifier?: unknown } | null)?.itemIdentifier;
    if (typeof id !== "string" || id === "" || !ids.has(id)) return undefined;
    failed.add(id);
  }
  return failed;
}
