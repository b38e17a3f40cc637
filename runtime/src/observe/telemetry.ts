// What the host tells its observers (metrics, the log store) about its work.
// Plain data, no behaviour: the host produces these, ./metrics.ts and
// ./log-store.ts consume them.

/** Which trigger an invocation came from. */
export type TriggerKind = "http" | "invoke" | "schedule" | "queue" | "storage";

/** One finished (or refused) invocation. */
export interface InvocationSummary {
  function: string;
  /** The version that ran: a number as a string ("7"); "$LATEST" is never used here. */
  version: string;
  trigger: TriggerKind;
  /**
   * `ok`: the function answered; `error`: its code threw; `failed`: the
   * platform stopped it (timeout, trap, out of memory, response too large);
   * `throttled`: it was refused before running (concurrency, queue full).
   */
  status: "ok" | "error" | "failed" | "throttled";
  /** For `error` and `failed`: the Lambda error type (`TypeError`, `Sandbox.Timedout`, `Runtime.OutOfMemory`...). */
  errorType?: string;
  /** Time in the guest, in milliseconds (0 when throttled). */
  durationMs: number;
  coldStart: boolean;
  /** Instance start-up time on a cold start, in milliseconds. */
  initMs?: number;
}

/** A point-in-time view of one function version's instances. */
export interface PoolSnapshot {
  function: string;
  version: string;
  /** Instances running an invocation now. */
  busy: number;
  /** Idle (warm) instances. */
  idle: number;
  /** Invocations waiting for an instance. */
  waiting: number;
}

/** A point-in-time view of one queue. */
export interface QueueSnapshot {
  queue: string;
  visible: number;
  inFlight: number;
  deadLettered: number;
}
