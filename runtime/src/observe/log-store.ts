// Recent log records kept in memory, per function, for `wfn logs` (queries
// and --follow). Bounded in bytes and in records; the oldest go first.
import type { LogRecord } from "./log.js";

/** A log record as kept by the store, with its place in the host-wide order. */
export type StoredLogRecord = LogRecord & {
  /** Increases by one with every record stored, across all functions; resume after it with `afterSeq`. */
  seq: number;
};

/** Bounds of a `LogStore`; each applies to every function and to the host's own records. */
export interface LogStoreOptions {
  /** Bytes of log messages kept per function (default 1 MiB). */
  maxBytesPerFunction?: number;
  /** Records kept per function (default 10 000). */
  maxRecordsPerFunction?: number;
}

/** Which records a query returns. Every condition given must hold. */
export interface LogQuery {
  /** Only this function's records; without it, every function's and the host's own. */
  function?: string;
  /** Epoch milliseconds, inclusive. */
  since?: number;
  /** Epoch milliseconds, inclusive. */
  until?: number;
  requestId?: string;
  /** Only records stored after this one. */
  afterSeq?: number;
  /** At most this many records, the newest (default 1000). */
  limit?: number;
}

/** Which new records a subscriber hears about. */
export interface LogSubscription {
  /** Only this function's records; without it, every record. */
  function?: string;
  requestId?: string;
}

const DEFAULT_MAX_BYTES = 1024 * 1024;
const DEFAULT_MAX_RECORDS = 10_000;
const DEFAULT_LIMIT = 1000;
// What a record costs beyond its message: the object, its time, level and labels.
const RECORD_OVERHEAD_BYTES = 64;

/** Keeps the recent log records of each function and of the host itself. */
export class LogStore {
  readonly #maxBytes: number;
  readonly #maxRecords: number;
  readonly #functions = new Map<string, Ring>();
  // Records without a function, apart so that no function name can reach them.
  readonly #host = new Ring();
  readonly #subscribers = new Set<{ filter: LogSubscription; listener: (record: StoredLogRecord) => void }>();
  #seq = 0;

  constructor(options: LogStoreOptions = {}) {
    this.#maxBytes = positiveInteger("maxBytesPerFunction", options.maxBytesPerFunction ?? DEFAULT_MAX_BYTES);
    this.#maxRecords = positiveInteger("maxRecordsPerFunction", options.maxRecordsPerFunction ?? DEFAULT_MAX_RECORDS);
  }

  /** Stores a record, evicting its function's oldest records beyond the bounds, and tells subscribers. */
  append(record: LogRecord): void {
    const stored: StoredLogRecord = Object.freeze({ ...record, seq: ++this.#seq });
    const ring = record.function === undefined ? this.#host : this.#bucket(record.function);
    ring.push(stored, Buffer.byteLength(record.message, "utf8") + RECORD_OVERHEAD_BYTES);
    // The newest record is always kept, even one larger than the byte bound on its own.
    while (ring.length > 1 && (ring.length > this.#maxRecords || ring.bytes > this.#maxBytes)) ring.shift();

    for (const { filter, listener } of this.#subscribers) {
      if (!matches(stored, filter)) continue;
      try {
        listener(stored);
      } catch {
        // A subscriber's failure (a closed connection...) is its own; other subscribers and the writer go on.
      }
    }
  }

  /** The newest `limit` records that match, oldest first. */
  query(filter: LogQuery = {}): StoredLogRecord[] {
    const limit = filter.limit ?? DEFAULT_LIMIT;
    if (limit <= 0) return [];
    if (filter.function !== undefined) {
      return this.#functions.get(filter.function)?.newest(filter, limit) ?? [];
    }
    const found: StoredLogRecord[] = [];
    for (const ring of [this.#host, ...this.#functions.values()]) found.push(...ring.newest(filter, limit));
    found.sort((a, b) => a.seq - b.seq);
    return found.length > limit ? found.slice(found.length - limit) : found;
  }

  /** Calls `listener` with every new record that matches; returns the function that stops it. */
  subscribe(filter: LogSubscription, listener: (record: StoredLogRecord) => void): () => void {
    const subscriber = { filter: { ...filter }, listener };
    this.#subscribers.add(subscriber);
    return () => {
      this.#subscribers.delete(subscriber);
    };
  }

  /** The functions that have records, by name. */
  functions(): string[] {
    return [...this.#functions.keys()].sort();
  }

  /** Forgets a function's records (it was removed). */
  drop(fn: string): void {
    this.#functions.delete(fn);
  }

  #bucket(fn: string): Ring {
    let ring = this.#functions.get(fn);
    if (ring === undefined) this.#functions.set(fn, (ring = new Ring()));
    return ring;
  }
}

function matches(record: StoredLogRecord, filter: LogSubscription): boolean {
  return (
    (filter.function === undefined || record.function === filter.function) &&
    (filter.requestId === undefined || record.requestId === filter.requestId)
  );
}

function positiveInteger(name: string, value: number): number {
  if (!Number.isInteger(value) || value < 1) throw new RangeError(`LogStore: ${name} must be a positive integer, got ${value}`);
  return value;
}

/**
 * One bucket's records in store order: an array read from a moving head, so
 * evicting the oldest is O(1); the dead prefix is cut off once it is at least
 * half the array, which keeps appends O(1) amortized.
 */
class Ring {
  // Evicted slots are cleared at once so their records can be collected before the next compaction.
  #records: (StoredLogRecord | undefined)[] = [];
  #sizes: number[] = [];
  #head = 0;
  bytes = 0;

  get length(): number {
    return this.#records.length - this.#head;
  }

  push(record: StoredLogRecord, size: number): void {
    this.#records.push(record);
    this.#sizes.push(size);
    this.bytes += size;
  }

  shift(): void {
    this.bytes -= this.#sizes[this.#head]!;
    this.#records[this.#head] = undefined;
    this.#head++;
    if (this.#head >= 1024 && this.#head * 2 >= this.#records.length) {
      this.#records = this.#records.slice(this.#head);
      this.#sizes = this.#sizes.slice(this.#head);
      this.#head = 0;
    }
  }

  /** The newest `limit` matching records, oldest first. */
  newest(filter: LogQuery, limit: number): StoredLogRecord[] {
    const found: StoredLogRecord[] = [];
    // Walk back from the newest; seq only grows, so everything before `afterSeq` can be skipped at once.
    for (let i = this.#records.length - 1; i >= this.#head && found.length < limit; i--) {
      const record = this.#records[i]!;
      if (filter.afterSeq !== undefined && record.seq <= filter.afterSeq) break;
      // Time is not monotonic within a bucket (a START line carries the invocation's start time), so no early exit on it.
      if (filter.since !== undefined && record.time < filter.since) continue;
      if (filter.until !== undefined && record.time > filter.until) continue;
      if (filter.requestId !== undefined && record.requestId !== filter.requestId) continue;
      found.push(record);
    }
    return found.reverse();
  }
}
