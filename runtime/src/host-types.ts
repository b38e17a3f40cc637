// The host's public shapes: options, status, and the Host interface.
import type { Hono } from "hono";
import type { EventValue } from "@wfn/sdk/abi";
import type { Artifact } from "./artifact/load.js";
import type { KvLimits } from "./capabilities/kv/config.js";
import { DEFAULT_MAX_QUEUES, type FunctionConfig, type QueueConfigInput } from "./config/function-config.js";
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
  /**
   * Largest request body a function's outbound fetch() may send, in bytes.
   * Past it the host keeps none of the body and the fetch fails. Default: 16 MiB.
   */
  maxOutboundRequestBytes?: number;
  /** Largest response body a function's outbound fetch() may receive, in bytes. Default: 16 MiB. */
  maxOutboundResponseBytes?: number;
  /**
   * Sends guests' outbound requests for these origins to another origin
   * instead (`{ "https://api.example.com": "http://127.0.0.1:9999" }`), after
   * the allow-list has passed them; each carries the origin it was for in
   * `x-wfn-outbound-origin`. For tests (`@wfn/cli/testing` routes to the
   * test's handlers this way) and local stand-ins of real services.
   */
  outboundRoutes?: Record<string, string>;
  /** Log output kept per invocation, in bytes; the rest is dropped with a marker. Default: 256 KiB. */
  logLimitBytes?: number;
  /** Instances across all functions; when reached, idle instances of other functions are evicted first (LRU). Default: 256. */
  maxInstances?: number;
  /**
   * What functions with no instance may keep prepared (compiled modules,
   * counted once however many functions share them, and memory images), in
   * MiB; past it the least recently used are released and prepared again on
   * their next invocation. Default: 512.
   */
  maxPreparedMB?: number;
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
  /**
   * A PostgreSQL URL (`postgres://user:password@host:5432/database`) to keep the host's state in
   * instead of the embedded SQLite store in `dataDir`. One host per database for now (a second
   * host on the same database is refused at start); see docs/storage.md.
   */
  store?: string;
  /** Queues, in addition to those declared in the build folders' app.json. */
  queues?: Record<string, QueueConfigInput>;
  /** Region in ARN-style names and in Lambda-style functions' AWS_REGION. Default: `us-east-1`. */
  region?: string;
  /**
   * Keys for the host's own routes under `/_wfn/` (deploy, configuration,
   * queues, logs, metrics), sent as `Authorization: Bearer <key>`. Without
   * any, those routes answer only direct connections from this machine:
   * never a request forwarded by a proxy, made by a function, or whose
   * origin is unknown (handed to `host.fetch`, received on a Unix socket) —
   * unless `admin.trustUnauthenticated` is set.
   */
  adminKeys?: string[];
  /** The admin API of a host without `adminKeys`. */
  admin?: {
    /**
     * Admit requests without a key to the admin API whatever their origin
     * (but never those made by functions): for an embedding program that
     * authenticates requests itself before it hands them to the host.
     * Default: false.
     */
    trustUnauthenticated?: boolean;
  };
  /**
   * Trust one reverse proxy on this machine: a request from a loopback
   * peer that carries `X-Forwarded-For` (else `Forwarded`, else `X-Real-IP`)
   * comes from the client named last there — the address functions see,
   * and the one the keyless admin API checks. Default: false (a forwarded
   * request is never "local").
   */
  trustProxy?: boolean;
  /** Keys that may invoke functions configured with `"auth": "key"` (admin keys may too). */
  invokeKeys?: string[];
  /** Largest deployment upload, in bytes. Default: 256 MiB. */
  maxUploadBytes?: number;
  /** Most functions in one deployment. Default: 100. */
  maxUploadFunctions?: number;
  /**
   * Most queues the host keeps, dead-letter queues included, however they
   * are declared (build folders' app.json, `queues`, deployments). Default: 1,000.
   */
  maxQueues?: number;
  /** Limits of functions' key-value namespaces (`ctx.kv`). */
  kv?: Partial<KvLimits>;
}

/** Options of a direct invocation. */
export interface InvokeOptions {
  /** Use this request id instead of a fresh UUID. */
  requestId?: string;
  /** JSON text handed to the function as its client context. */
  clientContext?: string;
  /** The version or alias to run: `$LATEST` (the default). */
  qualifier?: string;
  /**
   * @internal The draw in [0, 1) that picks between a weighted alias's
   * versions (default: a fresh random one); an executor that forwards a
   * request it could not run itself passes its own, so the split holds.
   */
  draw?: number;
  /**
   * @internal The executor that accepted this request and forwarded it for
   * want of an idle instance of the function there: the pool starts one on
   * it, so that the next requests arriving there run there.
   */
  origin?: number;
}

/** What a host knows about one function. */
export interface FunctionStatus {
  name: string;
  /** `Active`: it runs; `Pending`: its first version is being prepared; `Failed`: it has no version that can run. */
  state: "Active" | "Pending" | "Failed";
  /** Why the function failed, when it did. */
  stateReason?: string;
  /** How the latest change (deploy, configuration update) went. */
  lastUpdateStatus: "Successful" | "InProgress" | "Failed";
  /** Why the latest change failed, when it did (the function keeps running its previous version). */
  lastUpdateStatusReason?: string;
  /** The version `$LATEST` designates. */
  latestVersion?: number;
  /** The qualifier (`$LATEST` or an alias) serving the function's routes and triggers. */
  traffic: string;
  /** Routes of the version serving traffic. */
  routes: string[];
  /** Component hash and configuration of the version serving traffic. */
  sha256?: string;
  config?: FunctionConfig;
  aliases: AliasStatus[];
  /** Instances across every version. */
  instances: InstanceCounts;
}

/** A function's instances: `busy` ones run an invocation or are `starting` (a subset of `busy`). */
export interface InstanceCounts {
  total: number;
  /** Ready, not running an invocation. */
  idle: number;
  /** `total - idle`: running an invocation (perhaps suspended, waiting on I/O) or starting. */
  busy: number;
  /** Being created (counted in `busy`); at most two at a time per executor. */
  starting: number;
}

/** An alias, with its canary. */
export interface AliasStatus {
  name: string;
  version: number;
  /** A second version getting `weight` (0–1) of the alias's invocations. */
  canary?: { version: number; weight: number };
  description?: string;
}

/** One immutable version of a function. */
export interface VersionStatus {
  version: number;
  sha256: string;
  /** ISO time it was deployed. */
  createdAt: string;
  description?: string;
  config: FunctionConfig;
  /** `$LATEST` and the aliases pointing at it. */
  qualifiers: string[];
  instances: InstanceCounts;
}

/** What a deployment did. */
export interface DeploymentResult {
  functions: Array<{
    function: string;
    /** `$LATEST` before, undefined for a new function. */
    from: number | undefined;
    /** `$LATEST` after. */
    to: number;
    sha256: string;
    /** False when the upload was identical to `$LATEST` (code and configuration) and no version was made. */
    changed: boolean;
  }>;
}

/** Options of a deployment. */
export interface DeployOptions {
  /** Recorded with each new version. */
  description?: string;
  /** Queues to declare or update with the deployment. */
  queues?: Record<string, QueueConfigInput>;
}

/** What a configuration update may change (a new version is made with it). */
export type ConfigurationPatch = Partial<Omit<FunctionConfig, "entry" | "style">>;

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
  /**
   * Deploys one function (a build folder or an artifact): a new version if
   * its code or configuration changed, which becomes `$LATEST`. In-flight
   * invocations finish on the version they started on.
   */
  deploy(artifact: Artifact | string, options?: DeployOptions): Promise<FunctionStatus>;
  /**
   * Deploys several functions atomically: everything is checked and
   * prepared first, then all of them switch together, or none does.
   */
  deployApp(artifacts: Array<Artifact | string>, options?: DeployOptions): Promise<DeploymentResult>;
  /** Removes a function with its versions and aliases; its in-flight invocations finish first. Returns false if there was none. */
  undeploy(name: string): Promise<boolean>;
  /** The functions this host knows, loaded or failed. */
  functions(): FunctionStatus[];
  /** One function's status, or undefined. */
  function(name: string): FunctionStatus | undefined;
  /** A function's versions, oldest first. */
  versions(name: string): VersionStatus[];
  /** Creates or moves an alias; `canary` sends a share of its invocations to a second version. */
  setAlias(name: string, alias: string, target: { version: number; canary?: { version: number; weight: number }; description?: string }): Promise<AliasStatus>;
  deleteAlias(name: string, alias: string): Promise<void>;
  /** Chooses what serves a function's routes and triggers: `$LATEST` or one of its aliases. */
  setTraffic(name: string, qualifier: string): Promise<FunctionStatus>;
  /** Moves what serves the function's traffic back to an earlier version (default: the one before). */
  rollback(name: string, options?: { to?: number }): Promise<{ qualifier: string; from: number; to: number }>;
  /** Makes a new version with a changed configuration and the same code; it becomes `$LATEST`. */
  updateConfiguration(name: string, patch: ConfigurationPatch, options?: { description?: string }): Promise<DeploymentResult>;
  /** Deletes a version nothing points at. */
  deleteVersion(name: string, version: number): Promise<void>;
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
/** The host's limits and tuning when {@link HostOptions} leaves them out. */
export const DEFAULTS = {
  maxRequestBytes: DEFAULT_MAX_REQUEST_BYTES,
  maxResponseBytes: 6 * 1024 * 1024,
  maxOutboundRequestBytes: 16 * 1024 * 1024,
  maxOutboundResponseBytes: 16 * 1024 * 1024,
  logLimitBytes: 256 * 1024,
  maxInstances: 256,
  maxPreparedMB: 512,
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
  maxUploadBytes: 256 * 1024 * 1024,
  maxUploadFunctions: 100,
  maxQueues: DEFAULT_MAX_QUEUES,
};

