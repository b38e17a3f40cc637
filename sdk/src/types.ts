// What a function author sees: the context of an invocation and the
// handlers a function may define.

/** Facts about the invocation in progress, passed to every handler. */
export interface Context {
  /** Unique id of this invocation (a UUID); the host tags its log lines with it. */
  readonly requestId: string;
  /** The function's name, as declared in `wfn.json`. */
  readonly functionName: string;
  /** `$LATEST` or the version number that is running. */
  readonly functionVersion: string;
  /** The ARN-style name the caller used, including any version or alias. */
  readonly invokedFunctionArn: string;
  /** The function's memory limit, in MiB. */
  readonly memoryLimitMB: number;
  /** Unix epoch milliseconds at which this invocation times out. */
  readonly deadline: number;
  /** Milliseconds left before the invocation times out (never negative). */
  remainingTimeMs(): number;
  /** The function's configured environment variables (`env` in `wfn.json`), and nothing else. */
  readonly env: Readonly<Record<string, string>>;
  /** JSON client context given by the caller of a direct invocation, parsed. */
  readonly clientContext: unknown;
  /**
   * Sends a message to one of the app's queues (declared under `queues` in
   * `wfn.json`); resolves with the message id once the host has stored it.
   * Rejects when the queue does not exist or the message is too large (256 KiB).
   */
  sendMessage(queue: string, body: string, attributes?: Readonly<Record<string, string>>): Promise<string>;
  /**
   * A key-value namespace the function declares (`kv` in `wfn.json`); any
   * other is refused. Shared by every function that declares it.
   */
  kv(namespace: string): KvNamespace;
}

/** Options of {@link KvNamespace.set}. */
export interface KvSetOptions {
  /** The entry expires this many seconds after it is set (at least 1). Default: never. */
  ttlSeconds?: number;
}

/** Options of {@link KvNamespace.list}. */
export interface KvListOptions {
  /** Only keys that start with it. */
  prefix?: string;
  /** Most keys in the page (1 to the host's limit, 1,000 by default). Default: 100, or the host's limit when lower. */
  limit?: number;
  /** The `cursor` of the previous page. */
  cursor?: string;
}

/** One page of {@link KvNamespace.list}. */
export interface KvListPage {
  keys: string[];
  /** Pass it as `cursor` for the next page; null on the last one. */
  cursor: string | null;
}

/** One key-value namespace. Keys are strings; values are text or bytes. */
export interface KvNamespace {
  /** The value as text, or null when there is none (never set, deleted or expired). */
  get(key: string): Promise<string | null>;
  getBytes(key: string): Promise<Uint8Array | null>;
  /** The value parsed as JSON, or null. */
  getJSON<T = unknown>(key: string): Promise<T | null>;
  /** Stores a value; rejects when the key or value is over the host's limits. */
  set(key: string, value: string | Uint8Array, options?: KvSetOptions): Promise<void>;
  /** Removes a key; resolves with whether it was there. */
  delete(key: string): Promise<boolean>;
  /** Keys in order, a page at a time. */
  list(options?: KvListOptions): Promise<KvListPage>;
}

/** One firing of a schedule, passed to `scheduled()`. */
export interface ScheduledEvent {
  /** Unique id of this firing. */
  readonly id: string;
  /** The schedule's name. */
  readonly name: string;
  /** The schedule expression, as configured. */
  readonly expression: string;
  /** When the firing was due. */
  readonly scheduledTime: Date;
}

/** A message delivered from a queue, passed to `queue()` in a batch. */
export interface QueueMessage {
  readonly id: string;
  readonly body: string;
  readonly attributes: Readonly<Record<string, string>>;
  /** How many times this message has been delivered, this time included. */
  readonly attempts: number;
  readonly timestamp: Date;
  /** Marks this message for redelivery after the queue's visibility timeout; the others count as processed. */
  retry(): void;
}

/** The messages delivered to one invocation of `queue()`. */
export interface MessageBatch {
  readonly queue: string;
  readonly messages: readonly QueueMessage[];
  /** Marks every message of the batch for redelivery. */
  retryAll(): void;
}

/** An object-storage change, passed to `storage()`. */
export interface StorageRecord {
  /** `ObjectCreated:Put`, `ObjectRemoved:Delete`... */
  readonly eventName: string;
  readonly eventTime: Date;
  readonly bucket: string;
  /** The object key, URL-decoded. */
  readonly key: string;
  readonly size: number;
  readonly etag: string;
  readonly versionId?: string;
  /** The notification record exactly as the storage server sent it. */
  readonly raw: unknown;
}

type MaybePromise<T> = T | Promise<T>;

/** The handlers a function can define; each is optional, and a function needs at least one. */
export interface FunctionHandlers {
  /** Handles an HTTP request routed to the function. */
  fetch?(request: Request, ctx: Context): MaybePromise<Response>;
  /**
   * Handles a direct invocation (Invoke API, `wfn invoke`); its result is
   * serialised as JSON. Without it, direct invocations reach `fetch` as a
   * `POST /` request with the payload as a JSON body.
   */
  invoke?(payload: unknown, ctx: Context): unknown;
  /** Handles a firing of the function's schedule. */
  scheduled?(event: ScheduledEvent, ctx: Context): MaybePromise<void>;
  /** Handles a batch of queue messages; throwing redelivers the whole batch. */
  queue?(batch: MessageBatch, ctx: Context): MaybePromise<void>;
  /** Handles object-storage change notifications. */
  storage?(records: readonly StorageRecord[], ctx: Context): MaybePromise<void>;
}

/** Marks an object made by {@link defineFunction}. */
export const FUNCTION_BRAND: unique symbol = Symbol.for("wfn.function") as never;

/** A function definition, as returned by {@link defineFunction}. */
export type FunctionDefinition<H extends FunctionHandlers = FunctionHandlers> = H & {
  readonly [FUNCTION_BRAND]: true;
};
