// What an invocation produced, as the host reports it to triggers and APIs.
import type { FunctionErrorRecord, OutcomeValue } from "@wfn/sdk/abi";
import type { WfnError } from "./errors.js";

interface InvocationFacts {
  requestId: string;
  functionName: string;
  functionVersion: string;
  /** Time spent in the guest's call, in milliseconds. */
  durationMs: number;
  /** Whether a new instance had to be started for this invocation. */
  coldStart: boolean;
  /** Instance start-up time on a cold start, in milliseconds. */
  initMs: number | undefined;
  /** The invocation's log in AWS Lambda's text format: START, the lines, END, REPORT. */
  log: string;
}

/**
 * How an invocation ended: the function answered (`ok`), the function's code
 * threw (`error`), or the platform stopped it (`failed`: trap, out of memory,
 * timeout, executor failure).
 */
export type InvocationResult = InvocationFacts &
  (
    | { status: "ok"; outcome: OutcomeValue }
    | { status: "error"; error: FunctionErrorRecord }
    | { status: "failed"; error: WfnError }
  );

/**
 * The error object AWS Lambda returns for a failed invocation: `errorType`,
 * `errorMessage` and, for errors the code threw, `trace` (the stack's lines,
 * headed by `Type: message` as Node's runtime writes them).
 */
export function lambdaErrorPayload(result: InvocationResult & { status: "error" | "failed" }): { errorType: string; errorMessage: string; trace?: string[] } {
  if (result.status === "failed") return { errorType: result.error.lambdaType, errorMessage: result.error.message };
  const { errorType, message, stack } = result.error;
  const header = message === "" ? errorType : `${errorType}: ${message}`;
  const frames = stack === undefined || stack.trim() === "" ? [] : stack.trimEnd().split("\n");
  return { errorType, errorMessage: message, trace: frames[0] === header ? frames : [header, ...frames] };
}
