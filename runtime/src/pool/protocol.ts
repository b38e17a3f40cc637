// Messages between the host (main thread) and an executor (worker thread).
import type { MessagePort } from "node:worker_threads";
import type { ContextRecord, EventValue } from "@wfn/sdk/abi";
import type { CallResult } from "../sandbox/instance.js";
import type { MemoryImage } from "../util/wasm-binary.js";

/** A component as an executor loads it: glue module and compiled core modules. */
export interface LoadableComponent {
  /** Identifies the prepared component (hash and memory cap). */
  key: string;
  glueUrl: string;
  modules: Array<[string, WebAssembly.Module]>;
  /** Data segments lifted out of core modules (by module name), written into memory at instantiation. */
  images: Array<[string, MemoryImage]>;
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
}

/** Given to an executor when it starts (workerData). */
export interface ExecutorInit {
  /** Port to the host's outbound-HTTP thread, and the counter it bumps after each reply. */
  outbound?: { port: MessagePort; signal: SharedArrayBuffer };
  /** Port for guests' synchronous calls to the host (queue sends), and the counter it bumps after each reply. */
  hostCalls?: { port: MessagePort; signal: SharedArrayBuffer };
}

/** The executor's side of its channel with the host (see CHANNEL). */
export interface ChannelInit {
  shared: SharedArrayBuffer;
  /** Host → executor: control messages, and calls too large for the shared buffer. */
  control: MessagePort;
  /** Executor → host: results too large for the shared buffer. */
  results: MessagePort;
}

/**
 * Layout of the memory the host and an executor share: a header of Int32
 * slots, then a data area holding one encoded call or result at a time.
 * The executor sleeps on DOORBELL; the host sleeps (asynchronously) on
 * RESULT_SEQ.
 */
export const CHANNEL = {
  /** Bumped by the host whenever there is something for the executor. */
  DOORBELL: 0,
  /** 1 when an encoded call waits in the data area. */
  CALL: 1,
  /** Bumped by the executor when a result is ready. */
  RESULT_SEQ: 2,
  /** 1: the result is in the data area; 2: it was posted on the results port. */
  RESULT_KIND: 3,
  REQUEST_LENGTH: 4,
  RESULT_LENGTH: 5,
  /** 1 while the executor sleeps on the doorbell: only then does ringing need a (costly) futex wake. */
  EXECUTOR_SLEEPING: 6,
  /** 1 while the host sleeps on RESULT_SEQ: only then does a result need a futex wake. */
  HOST_WAITING: 7,
  HEADER_BYTES: 64,
  DATA_BYTES: 1024 * 1024,
} as const;

export type ToExecutor =
  | { op: "load"; component: LoadableComponent }
  | { op: "call-large"; instance: number; event: EventValue; context: ContextRecord }
  | { op: "unload"; component: string }
  | { op: "create"; id: number; instance: number; component: string; settings: InstanceSettings }
  | { op: "destroy"; instance: number };

export type FromExecutor =
  | { op: "created"; id: number; initMs: number }
  | { op: "failed"; id: number; message: string };

/** Whether a view spans its whole (non-shared) buffer, so the buffer can be transferred instead of copied. */
export function ownsBuffer(view: Uint8Array): boolean {
  return view.byteLength > 0 && view.byteOffset === 0 && view.byteLength === view.buffer.byteLength && view.buffer instanceof ArrayBuffer;
}
