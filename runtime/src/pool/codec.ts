// A compact binary form of calls and their results, written straight into
// the memory an executor shares with the host (cheaper than structured
// clone, and no message has to be posted). A value that does not fit throws
// `Overflow`, and the caller falls back to posting a message.
import type { ContextRecord, EventValue, Fields, FunctionErrorRecord, LogLevel, OutcomeValue } from "@wfn/sdk/abi";
import type { GuestLogEntry } from "../sandbox/capabilities/logs.js";
import type { CallResult } from "../sandbox/instance.js";

/** The value does not fit in the shared buffer. */
export class Overflow extends Error {
  override name = "Overflow";
}

const encoder = new TextEncoder();
const decoder = new TextDecoder();
const LEVELS: LogLevel[] = ["trace", "debug", "info", "warn", "error", "fatal"];

export class Writer {
  offset = 0;
  readonly #bytes: Uint8Array;
  readonly #view: DataView;

  constructor(bytes: Uint8Array) {
    this.#bytes = bytes;
    this.#view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  }

  #room(size: number): void {
    if (this.offset + size > this.#bytes.byteLength) throw new Overflow();
  }
  u8(value: number): void {
    this.#room(1);
    this.#view.setUint8(this.offset, value);
    this.offset += 1;
  }
  u32(value: number): void {
    this.#room(4);
    this.#view.setUint32(this.offset, value, true);
    this.offset += 4;
  }
  f64(value: number): void {
    this.#room(8);
    this.#view.setFloat64(this.offset, value, true);
    this.offset += 8;
  }
  u64(value: bigint): void {
    this.#room(8);
    this.#view.setBigUint64(this.offset, value, true);
    this.offset += 8;
  }
  string(value: string): void {
    // Reserve the length, write UTF-8 in place, then fill the length in.
    this.#room(4 + value.length);
    const at = this.offset;
    const { read, written } = encoder.encodeInto(value, this.#bytes.subarray(at + 4));
    if (read !== value.length) throw new Overflow();
    this.#view.setUint32(at, written, true);
    this.offset = at + 4 + written;
  }
  optionalString(value: string | undefined): void {
    this.u8(value === undefined ? 0 : 1);
    if (value !== undefined) this.string(value);
  }
  bytes(value: Uint8Array): void {
    this.#room(4 + value.byteLength);
    this.#view.setUint32(this.offset, value.byteLength, true);
    this.#bytes.set(value, this.offset + 4);
    this.offset += 4 + value.byteLength;
  }
  fields(value: Fields): void {
    this.u32(value.length);
    for (const [name, text] of value) {
      this.string(name);
      this.string(text);
    }
  }
}

export class Reader {
  offset = 0;
  readonly #bytes: Uint8Array;
  readonly #view: DataView;

  constructor(bytes: Uint8Array) {
    this.#bytes = bytes;
    this.#view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  }

  u8(): number {
    return this.#view.getUint8(this.offset++);
  }
  u32(): number {
    const value = this.#view.getUint32(this.offset, true);
    this.offset += 4;
    return value;
  }
  f64(): number {
    const value = this.#view.getFloat64(this.offset, true);
    this.offset += 8;
    return value;
  }
  u64(): bigint {
    const value = this.#view.getBigUint64(this.offset, true);
    this.offset += 8;
    return value;
  }
  string(): string {
    const length = this.u32();
    const text = decoder.decode(this.#bytes.subarray(this.offset, this.offset + length));
    this.offset += length;
    return text;
  }
  optionalString(): string | undefined {
    return this.u8() === 0 ? undefined : this.string();
  }
  /** A copy (the shared buffer is reused for the next call). */
  bytes(): Uint8Array {
    const length = this.u32();
    const copy = this.#bytes.slice(this.offset, this.offset + length);
    this.offset += length;
    return copy;
  }
  fields(): Fields {
    const count = this.u32();
    const out: Fields = new Array(count);
    for (let i = 0; i < count; i++) out[i] = [this.string(), this.string()];
    return out;
  }
}

const EVENT_TAGS = ["http", "invoke", "schedule", "queue", "storage"] as const;

export function writeCall(w: Writer, instance: number, event: EventValue, context: ContextRecord): void {
  w.u32(instance);
  w.string(context.requestId);
  w.string(context.functionName);
  w.string(context.functionVersion);
  w.string(context.invokedFunctionArn);
  w.u32(context.memoryLimitMb);
  w.u64(context.deadlineMs);
  w.optionalString(context.clientContext);
  w.u8(EVENT_TAGS.indexOf(event.tag));
  switch (event.tag) {
    case "http":
      w.string(event.val.method);
      w.string(event.val.url);
      w.fields(event.val.headers);
      w.bytes(event.val.body);
      w.u8(event.val.route === undefined ? 0 : 1);
      if (event.val.route !== undefined) {
        w.string(event.val.route.key);
        w.fields(event.val.route.params);
      }
      w.optionalString(event.val.remoteAddress);
      return;
    case "invoke":
      w.string(event.val.payload);
      return;
    case "schedule":
      w.string(event.val.id);
      w.string(event.val.name);
      w.string(event.val.expression);
      w.string(event.val.time);
      return;
    case "queue":
      w.string(event.val.queue);
      w.u32(event.val.messages.length);
      for (const m of event.val.messages) {
        w.string(m.id);
        w.string(m.receiptHandle);
        w.string(m.body);
        w.fields(m.attributes);
        w.u32(m.receiveCount);
        w.u64(m.sentTimestamp);
        w.u64(m.firstReceiveTimestamp);
      }
      return;
    case "storage":
      w.u32(event.val.length);
      for (const r of event.val) {
        w.string(r.eventName);
        w.string(r.eventTime);
        w.string(r.bucket);
        w.string(r.key);
        w.u64(r.size);
        w.string(r.etag);
        w.optionalString(r.versionId);
        w.string(r.raw);
      }
      return;
  }
}

export function readCall(r: Reader): { instance: number; event: EventValue; context: ContextRecord } {
  const instance = r.u32();
  const context: ContextRecord = {
    requestId: r.string(),
    functionName: r.string(),
    functionVersion: r.string(),
    invokedFunctionArn: r.string(),
    memoryLimitMb: r.u32(),
    deadlineMs: r.u64(),
    clientContext: r.optionalString(),
  };
  let event: EventValue;
  switch (EVENT_TAGS[r.u8()]) {
    case "http":
      event = {
        tag: "http",
        val: {
          method: r.string(),
          url: r.string(),
          headers: r.fields(),
          body: r.bytes(),
          route: r.u8() === 0 ? undefined : { key: r.string(), params: r.fields() },
          remoteAddress: r.optionalString(),
        },
      };
      break;
    case "invoke":
      event = { tag: "invoke", val: { payload: r.string() } };
      break;
    case "schedule":
      event = { tag: "schedule", val: { id: r.string(), name: r.string(), expression: r.string(), time: r.string() } };
      break;
    case "queue": {
      const queue = r.string();
      const messages = Array.from({ length: r.u32() }, () => ({
        id: r.string(),
        receiptHandle: r.string(),
        body: r.string(),
        attributes: r.fields(),
        receiveCount: r.u32(),
        sentTimestamp: r.u64(),
        firstReceiveTimestamp: r.u64(),
      }));
      event = { tag: "queue", val: { queue, messages } };
      break;
    }
    case "storage":
      event = {
        tag: "storage",
        val: Array.from({ length: r.u32() }, () => ({
          eventName: r.string(),
          eventTime: r.string(),
          bucket: r.string(),
          key: r.string(),
          size: r.u64(),
          etag: r.string(),
          versionId: r.optionalString(),
          raw: r.string(),
        })),
      };
      break;
    default:
      throw new Error("unknown event tag");
  }
  return { instance, event, context };
}

const STATUS = ["ok", "error", "trap"] as const;

export function writeResult(w: Writer, result: CallResult): void {
  w.u8(STATUS.indexOf(result.status));
  w.f64(result.durationMs);
  w.f64(result.memoryBytes);
  switch (result.status) {
    case "ok":
      writeOutcome(w, result.outcome);
      break;
    case "error":
      writeError(w, result.error);
      break;
    case "trap":
      w.string(result.message);
      w.u8(result.outOfMemory ? 1 : 0);
      break;
  }
  w.u32(result.logs.length);
  for (const entry of result.logs) {
    w.f64(entry.time);
    w.u8(LEVELS.indexOf(entry.level));
    w.string(entry.message);
  }
}

export function readResult(r: Reader): CallResult {
  const status = STATUS[r.u8()];
  const durationMs = r.f64();
  const memoryBytes = r.f64();
  let result: CallResult;
  switch (status) {
    case "ok":
      result = { status, outcome: readOutcome(r), logs: [], durationMs, memoryBytes };
      break;
    case "error":
      result = { status, error: readError(r), logs: [], durationMs, memoryBytes };
      break;
    case "trap":
      result = { status, message: r.string(), outOfMemory: r.u8() === 1, logs: [], durationMs, memoryBytes };
      break;
    default:
      throw new Error("unknown result status");
  }
  const count = r.u32();
  const logs: GuestLogEntry[] = new Array(count);
  for (let i = 0; i < count; i++) logs[i] = { time: r.f64(), level: LEVELS[r.u8()]!, message: r.string() };
  result.logs = logs;
  return result;
}

function writeOutcome(w: Writer, outcome: OutcomeValue): void {
  if (outcome.tag === "http") {
    w.u8(0);
    w.u32(outcome.val.status);
    w.fields(outcome.val.headers);
    w.bytes(outcome.val.body);
  } else {
    w.u8(1);
    w.bytes(outcome.val);
  }
}

function readOutcome(r: Reader): OutcomeValue {
  if (r.u8() === 0) return { tag: "http", val: { status: r.u32(), headers: r.fields(), body: r.bytes() } };
  return { tag: "payload", val: r.bytes() };
}

function writeError(w: Writer, error: FunctionErrorRecord): void {
  w.string(error.errorType);
  w.string(error.message);
  w.optionalString(error.stack);
}

function readError(r: Reader): FunctionErrorRecord {
  return { errorType: r.string(), message: r.string(), stack: r.optionalString() };
}
