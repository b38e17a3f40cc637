// Messages between the host (main thread) and an executor (worker thread).
import type { MessagePort } from "node:worker_threads";
import type { ContextRecord, EventValue } from "@wfn/sdk/abi";
import type { CallResult } from "../sandbox/instance.js";

/** A component as an executor loads it: glue module and compiled core modules. */
export interface LoadableComponent {
  /** Identifies the prepared component (hash and memory cap). */
  key: string;
  glueUrl: string;
  modules: Array<[string, WebAssembly.Module]>;
}

/** What an instance is given when it is created (structured-clone safe). */
export interface InstanceSettings {
  functionName: string;
  env: Record<string, string>;
  logLimitBytes: number;
  /** Outbound HTTP allow-list (`allowedOutboundHosts`); empty refuses everything. */
  allowedOutboundHosts: string[];
  /** Largest outbound response body accepted, in bytes. */
  maxOutboundResponseBytes: number;
}

/** Given to an executor when it starts (workerData). */
export interface ExecutorInit {
  /** Port to the host's outbound-HTTP thread, and the counter it bumps after each reply. */
  outbound?: { port: MessagePort; signal: SharedArrayBuffer };
}

export type ToExecutor =
  | { op: "load"; component: LoadableComponent }
  | { op: "unload"; component: string }
  | { op: "create"; id: number; instance: number; component: string; settings: InstanceSettings }
  | { op: "call"; id: number; instance: number; event: EventValue; context: ContextRecord }
  | { op: "destroy"; instance: number };

export type FromExecutor =
  | { op: "created"; id: number; initMs: number }
  | { op: "result"; id: number; result: CallResult }
  | { op: "failed"; id: number; message: string };

/** Whether a view spans its whole (non-shared) buffer, so the buffer can be transferred instead of copied. */
export function ownsBuffer(view: Uint8Array): boolean {
  return view.byteLength > 0 && view.byteOffset === 0 && view.byteLength === view.buffer.byteLength && view.buffer instanceof ArrayBuffer;
}
