// Messages between the host (main thread) and an executor (worker thread).
import type { ContextRecord, EventValue } from "@wfn/sdk/abi";
import type { CallResult } from "../sandbox/instance.js";

/** What an instance is given when it is created (structured-clone safe). */
export interface InstanceSettings {
  env: Record<string, string>;
  logLimitBytes: number;
}

export type ToExecutor =
  | { op: "load"; component: string; glueUrl: string; modules: Array<[string, WebAssembly.Module]> }
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
