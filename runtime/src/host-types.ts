// The host's public shapes: options, status, and the Host interface.
import type { Hono } from "hono";
import type { EventValue } from "@wfn/sdk/abi";
import type { Artifact } from "./artifact/load.js";
import type { FunctionConfig, QueueConfigInput } from "./config/function-config.js";
import type { InvocationResult } from "./invocation.js";
import type { LogSink } from "./observe/log.js";
import type { StoredMessage } from "./store/store.js";
import type { QueueStats } from "./triggers/queues.js";

/** Options of {@link createHost}. */
export interface HostOptions {
  /** `wfn build` output folders (one sub-folder per function) to load at start. */
  dir?: string | string[];
  /** Artifacts to load at start, in addition to `dir`. */
  functions?: Artifact[];
  /** Where transpiled components are cached. Default: `$WFN_CACHE_DIR` or `~/.cache/wfn`. */
  cacheDir?: string;
  /** Number of executor threads. Default: the number of CPUs, at most 4. */
  executors?: number;
  /** Where log records go. Default: text lines on stdout. */
  log?: LogSink;
  /** Largest request body or invoke payload accepted, in bytes. Default: 6 MiB (AWS Lambda's synchronous limit). */
  maxRequestBytes?: number;
  /** Largest response body or result a function may return, in bytes. Default: 6 MiB. */
  maxResponseBytes?: number;
  /** Largest response body a function's outbound fetch() may receive, in bytes. Default: 16 MiB. */
  maxOutboundResponseBytes?: number;
  /** Log output kept per invocation, in bytes; the rest is dropped with a marker. Default: 256 KiB. */
  logLimitBytes?: number;
  /** Instances across all functions; when reached, idle instances of other functions are evicted first (LRU). Default: 256. */
  maxInstances?: number;
  /** Invocations that may wait for an instance, per function, before more are throttled (429). Default: 100. */
  maxQueueLength?: number;
  /** How long an invocation may wait for an instance before it is throttled (429), in ms. Default: 10 000. */
  maxQueueWaitMs?: number;
  /** Idle instances above a function's `minInstances` are reclaimed after this long, in ms. Default: 300 000. */
  idleTimeoutMs?: number;
  /** Instances are replaced by fresh ones after this many invocations (0: never). Default: 0. */
  maxInvocationsPerInstance?: number;
  /** How long close() lets in-flight invocations finish, in ms. Default: 10 000. */
  drainTimeoutMs?: number;
  /** Largest payload of an asynchronous (`Event`) invocation, in bytes. Default: 1 MiB. */
  maxAsyncPayloadBytes?: number;
  /** Delay before the first retry of a failed asynchronous invocation, doubled for each further retry (at most 5 min), in ms. Default: 60 000. */
  asyncRetryDelayMs?: number;
  /** How long a claimed asynchronous invocation is reserved before a new attempt may take it (after a crash), in ms. Default: 60 000. */
  asyncLeaseMs?: number;
  /** How often due asynchronous invocations are looked for, in ms. Default: 1 000. */
  asyncPollMs?: number;
  /** Folder of the host's store (queues, asynchronous invocations, schedules). Default: none — kept in memory, lost when the host stops. */
  dataDir?: string;
  /** Queues, in addition to those declared in the build folders' app.json. */
  queues?: Record<string, QueueConfigInput>;
  /** Region in ARN-style names and in Lambda-style functions' AWS_REGION. Default: `us-east-1`. */
  region?: string;
}

/** Options of a direct invocation. */
export interface InvokeOptions {
  /** Use this request id instead of a fresh UUID. */
  requestId?: string;
  /** JSON text handed to the function as its client context. */
  clientContext?: string;
  /** The version or alias to run: `$LATEST` (the default). */
  qualifier?: string;
}

/** What a host knows about one function. */
export interface FunctionStatus {
  name: string;
  version: string;
  state: "Active" | "Failed";
  /** Why the function failed to load, when it did. */
  stateReason?: string;
  routes: string[];
  sha256?: string;
  config?: FunctionConfig;
  instances: { total: number; idle: number; busy: number };
}

/** A running wfn host. */
export interface Host {
  /** The Hono app serving every trigger; mount it anywhere. */
  readonly app: Hono<{ Variables: { requestId: string } }>;
  /** Handles one HTTP request (the app's fetch). */
  fetch(request: Request, env?: unknown): Promise<Response>;
  /** Invokes a function directly with a JSON payload and waits for its result. */
  invoke(name: string, payload?: unknown, options?: InvokeOptions & { async?: false }): Promise<InvocationResult>;
  /**
   * With `async: true`, accepts an asynchronous invocation like the Invoke
   * API's `Event` type: resolves with its request id once it is stored; it
   * then runs in the background and is retried on failure.
   */
  invoke(name: string, payload: unknown, options: InvokeOptions & { async: true }): Promise<{ requestId: string }>;
  /** Runs an event through a function (any trigger). */
  dispatch(name: string, event: EventValue, options?: InvokeOptions): Promise<InvocationResult>;
  /** Same as `invoke(name, payload, { async: true })`. */
  invokeAsync(name: string, payload?: unknown, options?: Pick<InvokeOptions, "qualifier" | "requestId">): Promise<{ requestId: string }>;
  /** The host's queues: send messages, inspect them. */
  readonly queues: HostQueues;
  /** Adds or replaces a function without dropping in-flight invocations. */
  deploy(artifact: Artifact | string): Promise<FunctionStatus>;
  /** Removes a function; its in-flight invocations finish first. Returns false if there was none. */
  undeploy(name: string): Promise<boolean>;
  /** The functions this host knows, loaded or failed. */
  functions(): FunctionStatus[];
  /** Stops accepting work, lets in-flight invocations finish, then stops the executors. */
  close(): Promise<void>;
  /** The region used in ARNs and in Lambda-style functions' environment. */
  readonly region: string;
  /** The ARN-style name of a function. */
  arn(name: string, qualifier?: string): string;
}

/** Queues, as embedders see them. */
export interface HostQueues {
  /** Sends one message; returns its id. */
  send(queue: string, body: string, attributes?: Record<string, string>, options?: { delaySeconds?: number }): Promise<string>;
  /** Depth, in-flight and dead-lettered counts of every queue. */
  stats(): Promise<QueueStats[]>;
  /** The messages of a queue (waiting or in flight), oldest first, without receiving them. */
  peek(queue: string, limit?: number): Promise<StoredMessage[]>;
  /** The messages in a queue's dead-letter queue. */
  deadLetters(queue: string, limit?: number): Promise<StoredMessage[]>;
  /** Moves a queue's dead letters back to it; returns how many. */
  redrive(queue: string): Promise<number>;
}

export const DEFAULT_MAX_REQUEST_BYTES = 6 * 1024 * 1024;
export const DEFAULTS = {
  maxResponseBytes: 6 * 1024 * 1024,
  maxOutboundResponseBytes: 16 * 1024 * 1024,
  logLimitBytes: 256 * 1024,
  maxInstances: 256,
  maxQueueLength: 100,
  maxQueueWaitMs: 10_000,
  idleTimeoutMs: 300_000,
  maxInvocationsPerInstance: 0,
  drainTimeoutMs: 10_000,
  maxAsyncPayloadBytes: 1024 * 1024,
  asyncRetryDelayMs: 60_000,
  asyncLeaseMs: 60_000,
  asyncPollMs: 1_000,
  asyncConcurrency: 16,
};

