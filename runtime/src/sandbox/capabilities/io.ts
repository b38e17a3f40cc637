// wasi:io — errors, pollables and byte streams. Every other capability
// builds its resources on these classes (jco's glue checks `instanceof`
// against them), so there is exactly one copy of each per executor.
//
// An executor runs one call at a time on its own thread, so blocking here
// (Atomics.wait) blocks only that call.

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

const sleeper = new Int32Array(new SharedArrayBuffer(4));

/** Blocks the executor thread for `ms` milliseconds. */
export function sleepMs(ms: number): void {
  if (ms > 0) Atomics.wait(sleeper, 0, 0, ms);
}

/**
 * `wasi:io/poll.pollable`. Ready at a monotonic instant (nanoseconds,
 * `process.hrtime.bigint()`), or when its `isReady` probe says so; `waitFor`
 * blocks until something may have changed (for pollables fed by another thread).
 */
export class Pollable {
  readonly #readyAt: bigint;
  readonly #isReady: (() => boolean) | undefined;
  readonly #waitFor: ((ms: number) => void) | undefined;

  constructor(readyAt: bigint, isReady?: () => boolean, waitFor?: (ms: number) => void) {
    this.#readyAt = readyAt;
    this.#isReady = isReady;
    this.#waitFor = waitFor;
  }

  /** A pollable that is ready at once. */
  static ready(): Pollable {
    return new Pollable(0n);
  }

  ready(): boolean {
    return this.#isReady ? this.#isReady() : process.hrtime.bigint() >= this.#readyAt;
  }

  block(): void {
    while (!this.ready()) this.waitOnce(100);
  }

  /** @internal blocks at most `maxMs`, or until this pollable may have become ready. */
  waitOnce(maxMs: number): void {
    if (this.#waitFor) this.#waitFor(maxMs);
    else sleepMs(Math.min(maxMs, this.waitHintMs()));
  }

  /** @internal milliseconds until this pollable may be ready (Infinity if unknown). */
  waitHintMs(): number {
    if (this.#isReady) return Infinity;
    const left = Number(this.#readyAt - process.hrtime.bigint()) / 1e6;
    return Math.max(0, Math.ceil(left));
  }

  /** @internal whether another thread can make this pollable ready. */
  get external(): boolean {
    return this.#waitFor !== undefined;
  }
}

/** `wasi:io/poll.poll`: blocks until at least one pollable is ready; returns the indices of the ready ones. */
export function poll(pollables: Pollable[]): Uint32Array {
  if (pollables.length === 0) throw new Error("poll() needs at least one pollable");
  for (;;) {
    const ready: number[] = [];
    let wait = Infinity;
    let external: Pollable | undefined;
    pollables.forEach((p, index) => {
      if (p.ready()) ready.push(index);
      else {
        wait = Math.min(wait, p.waitHintMs());
        if (p.external) external ??= p;
      }
    });
    if (ready.length > 0) return Uint32Array.from(ready);
    const maxMs = Math.max(1, Math.min(Number.isFinite(wait) ? wait : 100, 100));
    if (external !== undefined) external.waitOnce(maxMs);
    else sleepMs(maxMs);
  }
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

export function ioImports() {
  return {
    "wasi:io/error": { Error: IoError },
    "wasi:io/poll": { Pollable, poll },
    "wasi:io/streams": { InputStream, OutputStream },
  };
}
