// The executor side of the capability table: an instance's imports, built
// by every capability's guest side from the data its version was configured
// with. Every instance gets every capability's imports: componentize-js
// makes each component import the whole world, used or not.
import type { HostCall } from "./capability.js";
import { CAPABILITIES } from "./index.js";
import type { WaitState } from "../sandbox/call-state.js";

/** One capability as an instance gets it: its name and its data. */
export interface InstanceCapability {
  name: string;
  settings: unknown;
}

/** Reaches the host: one operation of one capability. */
export type CapabilityCall = (capability: string, op: string, args: unknown[]) => Promise<unknown>;

const noHost: CapabilityCall = (capability) => Promise.reject(`this host offers no ${capability} to functions`);

/**
 * An instance's capability imports, merged per interface (two capabilities
 * may share one, as logging and queue sends share `wfn:function/host`).
 * Without `configured` (a sandbox outside an executor), each capability
 * gets its `unconfigured` data and every call is refused.
 */
export function capabilityImports(configured: readonly InstanceCapability[] | undefined, call: CapabilityCall | undefined, state: WaitState): Record<string, Record<string, unknown>> {
  const merged: Record<string, Record<string, unknown>> = {};
  for (const capability of CAPABILITIES) {
    const given = configured?.find((entry) => entry.name === capability.name);
    const hostCall: HostCall = (op, args) => (call ?? noHost)(capability.name, op, args);
    const guest = capability.guest as (settings: unknown, call: HostCall, state: WaitState) => Record<string, Record<string, unknown>>;
    for (const [name, functions] of Object.entries(guest(given === undefined ? capability.unconfigured : given.settings, hostCall, state))) merged[name] = { ...merged[name], ...functions };
  }
  return merged;
}
