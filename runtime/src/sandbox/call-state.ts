// What an instance's imports know about it and its call in progress: a leaf
// module, so that the capabilities and the interrupt machinery can share it
// without importing each other.

/** What the waiting imports need to know about their instance. */
export interface WaitState {
  /** Set once the instance is abandoned (timed out, discarded): its waits never come back. */
  abandoned: boolean;
  /** The executor's number for the instance (0 outside an executor): recorded while its guest computes. */
  instance: number;
}

/** What the imports need to know about the call in progress. */
export interface CallState extends WaitState {
  /** Unix epoch milliseconds at which the current invocation times out. */
  deadlineMs: number;
  /** Whether an invocation is in progress (its stack may be suspended). */
  running: boolean;
}
