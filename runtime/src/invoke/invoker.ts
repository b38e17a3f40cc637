// The invocation pipeline every trigger shares: resolve the version, hand
// the event to its pool, then classify how the call ended and write its log
// (START / lines / END / REPORT) and metrics (./record.ts, which an executor
// answering HTTP itself uses too).
import { randomUUID } from "node:crypto";
import type { ContextRecord, EventValue } from "@wfn/sdk/abi";
import type { Resolved } from "../deploy/registry.js";
import { asWfnError, WfnError } from "../errors.js";
import type { InvokeOptions } from "../host-types.js";
import type { InvocationResult } from "../invocation.js";
import { InvocationLog } from "../observe/invocation-log.js";
import type { LogSink } from "../observe/log.js";
import type { InvocationSummary, TriggerKind } from "../observe/telemetry.js";
import type { FunctionPool } from "../pool/pool.js";
import type { HostSettings } from "../settings.js";
import type { VersionRecord } from "../store/store.js";
import { recordInvocation } from "./record.js";

/** What the invoker needs from the rest of the host. */
export interface InvokerPort {
  settings: Pick<HostSettings, "maxRequestBytes" | "maxResponseBytes" | "maxAsyncPayloadBytes">;
  /** The version a name and qualifier designate (WFN_FUNCTION_NOT_FOUND / _UNAVAILABLE otherwise). */
  resolve(name: string, qualifier: string | undefined, draw?: number): Resolved;
  /** A version's pool, prepared on first use. */
  pool(version: VersionRecord): Promise<FunctionPool>;
  arn(name: string, qualifier?: string): string;
  log: LogSink;
  observe(summary: InvocationSummary): void;
  /** Stores an asynchronous invocation. */
  acceptAsync(name: string, event: EventValue, requestId: string, qualifier: string | undefined): Promise<void>;
  closing(): boolean;
}

export class Invoker {
  readonly #port: InvokerPort;

  constructor(port: InvokerPort) {
    this.#port = port;
  }

  /** A direct invocation with a JSON payload. */
  invoke(name: string, payload: unknown, options: InvokeOptions): Promise<InvocationResult> {
    let text: string;
    try {
      text = this.#payload(payload, this.#port.settings.maxRequestBytes, "for the InvokeFunction operation");
    } catch (error) {
      return Promise.reject(error);
    }
    return this.dispatch(name, { tag: "invoke", val: { payload: text } }, options);
  }

  /** An asynchronous invocation: resolves once it is stored. */
  async invokeAsync(name: string, payload: unknown, options: Pick<InvokeOptions, "qualifier" | "requestId">): Promise<{ requestId: string }> {
    if (this.#port.closing()) throw new WfnError("WFN_SHUTTING_DOWN");
    this.#port.resolve(name, options.qualifier);
    const requestId = options.requestId ?? randomUUID();
    const text = this.#payload(payload, this.#port.settings.maxAsyncPayloadBytes, "for the Event invocation type");
    await this.#port.acceptAsync(name, { tag: "invoke", val: { payload: text } }, requestId, options.qualifier);
    return { requestId };
  }

  /** Runs an event through a function and reports how it went. */
  async dispatch(name: string, event: EventValue, options: InvokeOptions = {}): Promise<InvocationResult> {
    const port = this.#port;
    if (port.closing()) throw new WfnError("WFN_SHUTTING_DOWN");
    const { version, executedVersion } = port.resolve(name, options.qualifier, options.draw);
    const requestId = options.requestId ?? randomUUID();
    const config = version.manifest.config;
    const trigger: TriggerKind = event.tag;
    const versionLabel = String(version.version);
    let scheduled;
    try {
      const pool = await port.pool(version);
      const context: ContextRecord = {
        requestId,
        functionName: name,
        functionVersion: executedVersion,
        invokedFunctionArn: port.arn(name, options.qualifier),
        memoryLimitMb: config.memoryMB,
        deadlineMs: 0n, // set by the scheduler when the invocation starts
        clientContext: options.clientContext,
      };
      scheduled = await pool.invoke(event, context, options.origin);
    } catch (error) {
      const failure = asWfnError(error);
      if (failure.code === "WFN_THROTTLED") this.#observe({ function: name, version: versionLabel, trigger, status: "throttled", durationMs: 0, coldStart: false });
      if (failure.code === "WFN_INVALID_ARTIFACT") throw new WfnError("WFN_FUNCTION_UNAVAILABLE", `function ${name} is not available: ${failure.message}`, { cause: failure });
      throw error;
    }
    const facts = { requestId, functionName: name, functionVersion: executedVersion, memoryMB: config.memoryMB, maxResponseBytes: port.settings.maxResponseBytes, version: versionLabel, trigger };
    const { classified, log, summary } = recordInvocation(scheduled, facts, port.log);
    const { result } = classified;
    withLazyLog(result, log);
    this.#observe(summary);
    return result;
  }

  /** Metrics never fail an invocation. */
  #observe(summary: InvocationSummary): void {
    try {
      this.#port.observe(summary);
    } catch (error) {
      this.#port.log({ time: Date.now(), level: "error", source: "host", message: `metrics: ${(error as Error).message}` });
    }
  }

  #payload(payload: unknown, limit: number, operation: string): string {
    let text: string;
    try {
      text = JSON.stringify(payload === undefined ? null : payload);
    } catch (cause) {
      throw new WfnError("WFN_INVALID_REQUEST", `the payload cannot be serialised as JSON: ${(cause as Error).message}`, { cause });
    }
    if (Buffer.byteLength(text) > limit) {
      throw new WfnError("WFN_PAYLOAD_TOO_LARGE", `Request must be smaller than ${limit} bytes ${operation}`);
    }
    return text;
  }
}

/** The invocation's Lambda-format log text is only built if someone reads it (the Invoke API's `LogType: Tail`). */
function withLazyLog(result: InvocationResult, log: InvocationLog): InvocationResult {
  let text: string | undefined;
  Object.defineProperty(result, "log", { enumerable: true, configurable: true, get: () => (text ??= log.text()) });
  return result;
}
