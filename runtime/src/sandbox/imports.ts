// Composes the capabilities into the import object of one instance. The
// stateless ones are built once per executor; env, clocks, io, stdio,
// logging and outbound HTTP are per instance (their waits belong to it).
import { clockImports } from "./capabilities/clocks.js";
import { environmentImports } from "./capabilities/environment.js";
import { filesystemImports } from "./capabilities/filesystem.js";
import { hostImports } from "./capabilities/host.js";
import { httpImports } from "./capabilities/http.js";
import { ioImports } from "./capabilities/io.js";
import type { CallState } from "./call-state.js";
import { capabilityImports, type CapabilityCall, type InstanceCapability } from "../capabilities/guest.js";
import { LogCollector, stdioImports } from "./capabilities/logs.js";
import { randomImports } from "./capabilities/random.js";
import { socketImports } from "./capabilities/sockets.js";
import { outboundHandler, type OutboundOptions } from "../outbound/client.js";
import { outboundFetchImports } from "./capabilities/outbound-fetch.js";

/** What one instance is allowed to see and do. */
export interface Capabilities {
  functionName: string;
  /** Environment variables, exactly. */
  env: Readonly<Record<string, string>>;
  /** Bytes of log output kept per invocation; the rest is dropped with a marker. */
  logLimitBytes: number;
  /** `allowedOutboundHosts`; outbound requests elsewhere are refused. */
  allowedOutboundHosts: readonly string[];
  /** Largest outbound request body kept, in bytes; past it the request fails and is never sent. */
  maxOutboundRequestBytes: number;
  maxOutboundResponseBytes: number;
  /** Largest response body a wasi:http/proxy component may answer with, in bytes (the host's maxResponseBytes). Default: no limit. */
  maxResponseBytes?: number;
  /** Whether outbound requests may leave at all (false: every one is refused). Default true. */
  outbound?: boolean;
  /** Each capability's data (capabilities/guest.ts); without it, every capability refuses its calls. */
  capabilities?: readonly InstanceCapability[];
  /** Reaches the host for a capability's call; without it, every call is refused. */
  hostCall?: CapabilityCall;
}


let shared: Record<string, object> | undefined;

/** Builds an instance's imports; `logs` receives what the guest writes. */
export function createImports(capabilities: Capabilities, logs: LogCollector, call: CallState): Record<string, object> {
  shared ??= { ...randomImports(), ...filesystemImports(), ...socketImports() };
  const outbound: OutboundOptions = {
    functionName: capabilities.functionName,
    allowedHosts: capabilities.allowedOutboundHosts,
    enabled: capabilities.outbound !== false,
    logs,
    maxRequestBodyBytes: capabilities.maxOutboundRequestBytes,
    maxResponseBytes: capabilities.maxOutboundResponseBytes,
    remainingMs: () => call.deadlineMs - Date.now(),
    state: call,
  };
  const imports: Record<string, object> = {
    ...shared,
    ...ioImports(call),
    ...clockImports(call),
    ...environmentImports(capabilities.env),
    ...stdioImports(logs),
    ...hostImports(logs),
    ...httpImports(outboundHandler(outbound), capabilities.maxOutboundRequestBytes, capabilities.maxResponseBytes),
    ...outboundFetchImports(outbound),
  };
  for (const [name, functions] of Object.entries(capabilityImports(capabilities.capabilities, capabilities.hostCall, call))) imports[name] = { ...imports[name], ...functions };
  return imports;
}

export { LogCollector };
