// Messages between the host (main thread) and an executor (worker thread).
import type { InstanceCapability } from "../capabilities/guest.js";
import type { ContextRecord, EventValue } from "@wfn/sdk/abi";
import type { CallResult } from "../sandbox/instance.js";
import type { MemoryImage } from "../util/wasm-binary.js";
import type { LogRecord } from "../observe/log.js";
import type { InvocationSummary } from "../observe/telemetry.js";
import type { RoutedFunction } from "../triggers/routes.js";

/** A component as an executor loads it: glue module and compiled core modules. */
export interface LoadableComponent {
  /** Identifies the prepared component (hash and memory cap). */
  key: string;
  glueUrl: string;
  modules: Array<[string, WebAssembly.Module]>;
  /** Data segments lifted out of core modules (by module name), written into memory at instantiation. */
  images: Array<[string, MemoryImage]>;
  /** Core modules instrumented with interrupt checks (by name), with the limits of the memory each now imports. */
  interrupts: Array<[string, { initial: number; maximum: number | undefined }]>;
  /** The bundle's source map (JSON) the component carries, for guest stack traces (../util/source-map.ts). */
  sourceMap?: string;
}

/** What an instance is given when it is created (structured-clone safe). */
export interface InstanceSettings {
  functionName: string;
  env: Record<string, string>;
  logLimitBytes: number;
  /** Outbound HTTP allow-list (`allowedOutboundHosts`); empty refuses everything. */
  allowedOutboundHosts: string[];
  /** Largest outbound request body a guest may send, in bytes. */
  maxOutboundRequestBytes: number;
  /** Largest outbound response body accepted, in bytes. */
  maxOutboundResponseBytes: number;
  /** Largest response body a wasi:http/proxy component may answer with, in bytes. */
  maxResponseBytes: number;
  /** The capabilities of the table (capabilities/index.ts), each with its guest module and its data. */
  capabilities: InstanceCapability[];
}

/** A guest's call to the host: one operation of a capability (capabilities/). */
export interface HostCallRequest {
  capability: string;
  op: string;
  args: unknown[];
}

/** One version an executor may run a routed function's requests on. */
export interface RoutedVersion {
  /** The pool's key (`name@version`), as leases name it. */
  pool: string;
  /** What the invocation reports as its version (`$LATEST` or the number). */
  executedVersion: string;
  timeoutMs: number;
  memoryMB: number;
}

/** What an executor accepting HTTP needs to serve a function's routed requests itself. */
export interface RoutedTarget {
  /** The qualifier serving the routes (for the ARN), undefined for `$LATEST`. */
  qualifier: string | undefined;
  arn: string;
  requiresKey: boolean;
  primary: RoutedVersion;
  /** An alias's canary and its weight (0..1). */
  canary: (RoutedVersion & { weight: number }) | undefined;
}

/** The routing an executor accepting HTTP follows, sent whenever what is deployed changes. */
export interface RoutingSnapshot {
  /** Every routed function (failed ones too: their requests go to the main thread). */
  routes: RoutedFunction[];
  /** Functions that can run, by name. */
  targets: Record<string, RoutedTarget>;
}

/** How executors accept HTTP connections (see ./README.md, "The data plane"). */
export interface ListenSettings {
  port: number;
  hostname: string;
  /** The main thread's own server, for what an executor does not serve itself. */
  mainPort: number;
  /** Proves to the main thread that a forwarded request comes from an executor. */
  secret: string;
  /** Shared connection counters: [0] all, [1 + hash(client) % buckets] per client. */
  connections: SharedArrayBuffer;
  maxConnections: number;
  maxConnectionsPerClient: number;
  maxRequestBytes: number;
  maxResponseBytes: number;
  /** The largest deployment upload the host's API accepts (what is forwarded to `/_wfn/` is cut past it). */
  maxUploadBytes: number;
  trustProxy: boolean;
  keys: { admin: readonly string[]; invoke: readonly string[] };
  /**
   * The host's queue rules, which a request waiting on an executor for a busy lent instance is held to:
   * it joins its pool's queue while that holds fewer than `maxQueueLength` (counted with the main
   * thread's), for at most `maxQueueWaitMs` (then 429, as the main thread answers).
   */
  maxQueueLength: number;
  maxQueueWaitMs: number;
}

export type ToExecutor =
  | { op: "load"; component: LoadableComponent }
  | { op: "unload"; component: string }
  | { op: "create"; id: number; instance: number; component: string; settings: InstanceSettings }
  | { op: "destroy"; instance: number }
  | { op: "call"; id: number; instance: number; event: EventValue; context: ContextRecord }
  /** The instance's invocation timed out: never resume it. The executor answers `abandoned`. */
  | { op: "abandon"; instance: number }
  | { op: "host-reply"; id: number; value: unknown }
  | { op: "host-reply"; id: number; error: string }
  /** The instance is this executor's to run routed requests on until recalled. */
  /** `running`: one shared word the executor sets to 1 while a request runs on the instance. */
  /** `queue`: the pool's queue counts (FunctionPool.queue), which a request waiting on the executor joins. */
  | { op: "lend"; instance: number; pool: string; idleTimeoutMs: number; running: SharedArrayBuffer; queue: SharedArrayBuffer }
  /** Give the instance back (`returned`) as soon as its running request is done. */
  | { op: "recall"; instance: number }
  | { op: "listen"; id: number; settings: ListenSettings }
  | { op: "unlisten" }
  /** Answer `quiet` once every connection this executor accepted is closed (all closed by force after `waitMs`). */
  | { op: "quiesce"; id: number; waitMs: number }
  | { op: "routing"; snapshot: RoutingSnapshot };

export type FromExecutor =
  | { op: "created"; id: number; initMs: number }
  | { op: "failed"; id: number; message: string }
  | { op: "result"; id: number; result: CallResult }
  | { op: "abandoned"; instance: number }
  | { op: "host-call"; id: number; instance: number; request: HostCallRequest }
  /** A lent instance is back (recalled, or idle past its timeout). */
  | { op: "returned"; instance: number; lastUsedAt: number }
  /** A lent instance is gone (trap, timeout, out of memory, grown too large). */
  | { op: "lost"; instance: number }
  | { op: "listening"; id: number; port: number }
  | { op: "listen-failed"; id: number; code: string | undefined; message: string }
  | { op: "quiet"; id: number }
  /** The logs and summaries of the invocations this executor ran itself, in batches. */
  | { op: "records"; logs: LogRecord[]; invocations: InvocationSummary[] };

/** Whether a view spans its whole (non-shared) buffer, so the buffer can be transferred instead of copied. */
export function ownsBuffer(view: Uint8Array): boolean {
  return view.byteLength > 0 && view.byteOffset === 0 && view.byteLength === view.buffer.byteLength && view.buffer instanceof ArrayBuffer;
}
