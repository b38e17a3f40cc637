// The shape of a capability: what the host offers guests beyond WASI, in
// one place per capability, listed in ./index.ts. A capability declares
//  - the WIT interfaces it implements and the imports that suspend the guest,
//  - how a function version is configured for it (`configure`: plain data,
//    sent to the executor with each instance),
//  - its executor side (`guest`: builds an instance's imports from that
//    data and a host-call function; every instance gets every capability's
//    imports, because componentize-js imports the whole world),
//  - its host side (`host`): the handlers of its host calls, on the main
//    thread, with the host's store and queues.
// Its wfn.json fields are in ./config.ts (a separate table, because the
// configuration module must not import the host's rooms).
import type { FunctionConfig } from "../config/function-config.js";
import type { LogSink } from "../observe/log.js";
import type { WaitState } from "../sandbox/call-state.js";
import type { HostSettings } from "../settings.js";
import type { Store } from "../store/store.js";
import type { Queues } from "../triggers/queues.js";

/** The instance making a host call, as the host knows it (never as the guest says). */
export interface Caller {
  functionName: string;
  config: FunctionConfig;
}

/** What capabilities' host sides may use. */
export interface CapabilityServices {
  store: Store;
  queues: Queues;
  settings: HostSettings;
  log: LogSink;
}

/** Answers one host call: resolves with the value the guest gets, rejects with its error (a string reaches the guest as is). */
export type HostCallHandler = (args: readonly unknown[], caller: Caller) => Promise<unknown>;

export interface Capability {
  readonly name: string;
  /** WIT interfaces it implements (`wfn:function/kv`): a component may import them. */
  readonly interfaces: readonly string[];
  /** Imports a guest waits in (jco-transpile `asyncImports`, `interface#function`). */
  readonly suspendingImports: readonly string[];
  /** Its executor side: an instance's imports. */
  readonly guest: GuestImports<never>;
  /** The data of an instance no host configured (a sandbox outside an executor): everything refused. */
  readonly unconfigured: unknown;
  /** The data each instance of a version gets (structured-cloneable). */
  configure(config: FunctionConfig, settings: HostSettings): unknown;
  /** Its host side: its host calls by operation, and what to stop when the host closes. */
  host(services: CapabilityServices): HostSide;
}

export interface HostSide {
  calls: Readonly<Record<string, HostCallHandler>>;
  close?(): void;
}

/** Calls the host on behalf of the instance: one operation of this capability. */
export type HostCall = (op: string, args: unknown[]) => Promise<unknown>;

/** The executor side of a capability: its module's `imports` export. */
export type GuestImports<Settings> = (settings: Settings, call: HostCall, state: WaitState) => Record<string, Record<string, unknown>>;
