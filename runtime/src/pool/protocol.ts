// Messages between the host (main thread) and an executor (worker thread).
import type { InstanceCapability } from "../capabilities/guest.js";
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
  /** Core modules instrumented with interrupt checks (by name), with the limits of the memory each now imports. */
  interrupts: Array<[string, { initial: number; maximum: number | undefined }]>;
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
  /** The capabilities of the table (capabilities/index.ts), each with its guest module and its data. */
  capabilities: InstanceCapability[];
}

/** A guest's call to the host: one operation of a capability (capabilities/). */
export interface HostCallRequest {
  capability: string;
  op: string;
  args: unknown[];
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
  | { op: "host-reply"; id: number; error: string };

export type FromExecutor =
  | { op: "created"; id: number; initMs: number }
  | { op: "failed"; id: number; message: string }
  | { op: "result"; id: number; result: CallResult }
  | { op: "abandoned"; instance: number }
  | { op: "host-call"; id: number; instance: number; request: HostCallRequest };

/** Whether a view spans its whole (non-shared) buffer, so the buffer can be transferred instead of copied. */
export function ownsBuffer(view: Uint8Array): boolean {
  return view.byteLength > 0 && view.byteOffset === 0 && view.byteLength === view.buffer.byteLength && view.buffer instanceof ArrayBuffer;
}
