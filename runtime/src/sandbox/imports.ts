// Composes the capabilities into the import object of one instance. The
// stateless ones are built once per executor; env, stdio, logging and
// outbound HTTP are per instance.
import { clockImports } from "./capabilities/clocks.js";
import { environmentImports } from "./capabilities/environment.js";
import { filesystemImports } from "./capabilities/filesystem.js";
import { hostImports, type SendMessage } from "./capabilities/host.js";
import { httpImports, type OutboundHandler } from "./capabilities/http.js";
import { ioImports } from "./capabilities/io.js";
import { LogCollector, stdioImports } from "./capabilities/logs.js";
import { randomImports } from "./capabilities/random.js";
import { socketImports } from "./capabilities/sockets.js";

/** What one instance is allowed to see and do. */
export interface Capabilities {
  /** Environment variables, exactly. */
  env: Readonly<Record<string, string>>;
  /** Bytes of log output kept per invocation; the rest is dropped with a marker. */
  logLimitBytes: number;
  /** Outgoing HTTP; refused when absent. */
  outbound?: OutboundHandler;
  /** Queue sends; refused when absent. */
  sendMessage?: SendMessage;
}

let shared: Record<string, object> | undefined;

/** Builds an instance's imports; `logs` receives what the guest writes. */
export function createImports(capabilities: Capabilities, logs: LogCollector): Record<string, object> {
  shared ??= { ...ioImports(), ...clockImports(), ...randomImports(), ...filesystemImports(), ...socketImports() };
  return {
    ...shared,
    ...environmentImports(capabilities.env),
    ...stdioImports(logs),
    ...hostImports(logs, capabilities.sendMessage),
    ...httpImports(capabilities.outbound),
  };
}

export { LogCollector };
