// wasi:io — errors, pollables and byte streams. Every other capability
// builds its resources on these classes (jco's glue checks `instanceof`
// against them), so there is exactly one copy of each per executor.
//
// Waiting never blocks the thread: `poll` and `pollable.block` are the
// imports the component's glue makes suspending (JSPI). When nothing is ready
// they return a promise; the instance's stack is set aside until it settles
// and the executor runs other instances meanwhile.
import type { WaitState } from "../call-state.js";
import { resuming } from "../interrupt.js";

/** `wasi:io/error.error`. */
export class IoError {
  readonly #message: string;
  constructor(message: string) {
    this.#message = message;
  }
  toDebugString(): string {
    return this.#message;
  }
}

/** The `stream-error` variant, thrown as the import's `err` value. */
export type StreamError = { tag: "closed" } | { tag: "last-operation-failed"; val: IoError };

export const STREAM_CLOSED: StreamError = Object.freeze({ tag: "closed" });


/** The wait state of a pollable made outside any instance (one that is ready at once): never abandoned. */
const DETACHED: WaitState = { abandoned: false, instance: 0 };

/**
 * `wasi:io/poll.pollable`: ready now, at a monotonic instant (nanoseconds,
 * `process.hrtime.bigint()`), or once a promise settles (a reply from
 * another party). Made by one instance's imports, it knows that instance.
 */
export class Pollable {
  readonly #readyAt: bigint | undefined;
  readonly #settling: Promise<void> | undefined;
  readonly #state: WaitState | undefined;
  #settled: boolean;

  /** @internal made by {@link Pollable.at}, {@link Pollable.when} and {@link Pollable.ready}. */
  constructor(readyAt: bigint | undefined, settling: Promise<unknown> | undefined, state: WaitState | undefined) {
    this.#readyAt = readyAt;
    this.#state = state;
    this.#settled = readyAt === undefined && settling === undefined;
    const settle = () => void (this.#settled = true);
    this.#settling = settling?.then(settle, settle);
  }

  /** A pollable that is ready at once. */
  static ready(): Pollable {
    return READY;
  }

  /** Ready at `instant` (monotonic nanoseconds). */
  static at(instant: bigint, state: WaitState): Pollable {
    return new Pollable(instant, undefined, state);
  }

  /** Ready once `promise` settles. */
  static when(promise: Promise<unknown>, state: WaitState): Pollable {
    return new Pollable(undefined, promise, state);
  }

  ready(): boolean {
    if (this.#settled) return true;
    if (this.#readyAt !== undefined && process.hrtime.bigint() >= this.#readyAt) return (this.#settled = true);
    return false;
  }

  /** Returns at once when ready; otherwise the instance suspends until it is (a suspending import). */
  block(): void | Promise<void> {
    if (this.ready()) return;
    return resuming(untilReady([this]).then(() => undefined), this.#state ?? DETACHED);
  }

  /** @internal resolves once this pollable is ready. */
  wait(): Promise<void> {
    if (this.ready()) return Promise.resolve();
    if (this.#settling !== undefined) return this.#settling;
    const ms = Number(this.#readyAt! - process.hrtime.bigint()) / 1e6;
    return new Promise((resolve) => setTimeout(resolve, Math.max(1, Math.ceil(ms))));
  }
}

const READY = new Pollable(undefined, undefined, undefined);

/** Waits until one of `pollables` is ready (a timer may fire a little before its instant: wait again). */
async function untilReady(pollables: Pollable[]): Promise<Uint32Array> {
  for (;;) {
    await Promise.race(pollables.map((p) => p.wait()));
    const ready = readyIndices(pollables);
    if (ready !== undefined) return ready;
  }
}

/** Indices of the ready pollables, or undefined when none is. */
function readyIndices(pollables: Pollable[]): Uint32Array | undefined {
  let ready: number[] | undefined;
  for (let index = 0; index < pollables.length; index++) if (pollables[index]!.ready()) (ready ??= []).push(index);
  return ready === undefined ? undefined : Uint32Array.from(ready);
}

/** `wasi:io/streams.input-stream` over bytes that are all known up front. */
export class InputStream {
  #bytes: Uint8Array;
  #offset = 0;

  constructor(bytes: Uint8Array = new Uint8Array(0)) {
    this.#bytes = bytes;
  }

  read(len: bigint): Uint8Array {
    if (this.#offset >= this.#bytes.byteLength) throw STREAM_CLOSED;
    const end = Math.min(this.#bytes.byteLength, this.#offset + Number(len));
    const chunk = this.#bytes.subarray(this.#offset, end);
    this.#offset = end;
    return chunk;
  }

  blockingRead(len: bigint): Uint8Array {
    return this.read(len);
  }

  skip(len: bigint): bigint {
    return BigInt(this.read(len).byteLength);
  }

  blockingSkip(len: bigint): bigint {
    return this.skip(len);
  }

  subscribe(): Pollable {
    return Pollable.ready();
  }
}

/** Where an output stream's bytes go. `bytes` may be reused after the call: copy what you keep. */
export interface ByteSink {
  write(bytes: Uint8Array): void;
}

/** `wasi:io/streams.output-stream` writing synchronously to a sink. */
export class OutputStream {
  static readonly CAPACITY = 1n << 20n;
  readonly #sink: ByteSink;
  #closed = false;

  constructor(sink: ByteSink) {
    this.#sink = sink;
  }

  checkWrite(): bigint {
    if (this.#closed) throw STREAM_CLOSED;
    return OutputStream.CAPACITY;
  }

  write(contents: Uint8Array): void {
    if (this.#closed) throw STREAM_CLOSED;
    this.#sink.write(contents);
  }

  blockingWriteAndFlush(contents: Uint8Array): void {
    this.write(contents);
  }

  flush(): void {
    if (this.#closed) throw STREAM_CLOSED;
  }

  blockingFlush(): void {
    this.flush();
  }

  writeZeroes(len: bigint): void {
    this.write(new Uint8Array(Number(len)));
  }

  blockingWriteZeroesAndFlush(len: bigint): void {
    this.writeZeroes(len);
  }

  splice(source: InputStream, len: bigint): bigint {
    const chunk = source.read(len);
    this.write(chunk);
    return BigInt(chunk.byteLength);
  }

  blockingSplice(source: InputStream, len: bigint): bigint {
    return this.splice(source, len);
  }

  subscribe(): Pollable {
    return Pollable.ready();
  }

  /** @internal ends the stream (used by bodies that get finished). */
  close(): void {
    this.#closed = true;
  }
}

/**
 * The wasi:io imports of one instance. The classes are shared by every
 * instance of the executor (jco's glue checks `instanceof` against them);
 * `poll` knows its instance, so that an abandoned one is never resumed. It
 * returns at once when something is ready (the stack does not suspend), else
 * a promise (a suspending import).
 */
export function ioImports(state: WaitState) {
  return {
    "wasi:io/error": { Error: IoError },
    "wasi:io/poll": {
      Pollable,
      poll(pollables: Pollable[]): Uint32Array | Promise<Uint32Array> {
        if (pollables.length === 0) throw new Error("poll() needs at least one pollable");
        const now = readyIndices(pollables);
        if (now !== undefined) return now;
        return resuming(untilReady(pollables), state);
      },
    },
    "wasi:io/streams": { InputStream, OutputStream },
  };
}
