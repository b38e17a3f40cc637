// How a scheduled call ended, in the host's terms: the result a trigger
// answers with, the host's own error line for the invocation's log, and what
// the REPORT line and the metrics record. Pure: no I/O, no clock.
import type { OutcomeValue } from "@wfn/sdk/abi";
import { WfnError } from "../errors.js";
import type { InvocationResult } from "../invocation.js";
import type { ScheduledResult } from "../pool/scheduler.js";
import type { GuestLogEntry } from "../sandbox/capabilities/logs.js";

/** What the host knows of an invocation before it ends. */
export interface InvocationFacts {
  requestId: string;
  functionName: string;
  /** `$LATEST` or the version number, as the invocation reports it. */
  functionVersion: string;
  memoryMB: number;
  /** The largest result the host returns, in bytes. */
  maxResponseBytes: number;
}

/** A classified invocation. */
export interface Classified {
  /** Its result, with `log` still empty (the caller attaches the log text). */
  result: InvocationResult;
  /** The host's error line for the invocation's log, if the host failed it. */
  hostError?: string;
  /** The guest's log lines, when the call ran to an end. */
  guestLogs: readonly GuestLogEntry[];
  durationMs: number;
  memoryUsedBytes: number | undefined;
  timedOut: boolean;
  /** For metrics: the Lambda error type of a failed or erroring invocation. */
  errorType?: string;
}

/** Classifies how a scheduled call ended. */
export function classify(scheduled: ScheduledResult, facts: InvocationFacts): Classified {
  const base = { requestId: facts.requestId, functionName: facts.functionName, functionVersion: facts.functionVersion, coldStart: scheduled.coldStart, initMs: scheduled.initMs, log: "" };
  if (scheduled.status === "timeout") {
    const error = new WfnError("WFN_TIMED_OUT", `RequestId: ${facts.requestId} Error: Task timed out after ${(scheduled.elapsedMs / 1000).toFixed(2)} seconds`);
    return {
      result: { ...base, durationMs: scheduled.elapsedMs, status: "failed", error },
      hostError: error.message,
      guestLogs: [],
      durationMs: scheduled.elapsedMs,
      memoryUsedBytes: undefined,
      timedOut: true,
      errorType: error.lambdaType,
    };
  }
  const call = scheduled.result;
  const ran = { guestLogs: call.logs, durationMs: call.durationMs, memoryUsedBytes: call.memoryBytes, timedOut: false };
  const done = { ...base, durationMs: call.durationMs };
  const failed = (error: WfnError): Classified => ({ ...ran, result: { ...done, status: "failed", error }, hostError: error.message, errorType: error.lambdaType });
  switch (call.status) {
    case "ok": {
      const size = outcomeBytes(call.outcome);
      if (size > facts.maxResponseBytes) {
        return failed(
          new WfnError(
            "WFN_RESPONSE_TOO_LARGE",
            `Response payload size exceeded maximum allowed payload size (${facts.maxResponseBytes} bytes): the function returned ${size} bytes`,
          ),
        );
      }
      return { ...ran, result: { ...done, status: "ok", outcome: call.outcome } };
    }
    case "error":
      return {
        ...ran,
        result: { ...done, status: "error", error: call.error },
        hostError: `Invoke Error ${call.error.errorType}: ${call.error.message}${call.error.stack ? `\n${call.error.stack.trimEnd()}` : ""}`,
        errorType: call.error.errorType,
      };
    case "trap":
      return failed(
        call.outOfMemory
          ? new WfnError("WFN_OUT_OF_MEMORY", `RequestId: ${facts.requestId} Error: Runtime exited with error: out of memory (limit ${facts.memoryMB} MB)`)
          : new WfnError("WFN_GUEST_TRAP", `RequestId: ${facts.requestId} Error: Runtime exited with error: ${call.message}`),
      );
  }
}

/** The size of a result as the 6 MiB limit counts it: the body, and an HTTP response's header names and values. */
export function outcomeBytes(outcome: OutcomeValue): number {
  if (outcome.tag === "payload") return outcome.val.byteLength;
  let size = outcome.val.body.byteLength;
  for (const [name, value] of outcome.val.headers) size += Buffer.byteLength(name) + Buffer.byteLength(value) + 4;
  return size;
}
