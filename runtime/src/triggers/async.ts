// Asynchronous invocations (`Event`): accepted at once, run in the
// background, retried on failure like AWS Lambda (two retries by default,
// with growing delays). Kept in memory; a host that stops loses what has not
// run yet.
import type { InvocationResult } from "../invocation.js";
import type { LogSink } from "../observe/log.js";

export interface AsyncInvokerOptions {
  /** Delay before each retry, in ms; its length is the number of retries. Default: [1000, 2000]. */
  retryDelaysMs: number[];
  log: LogSink;
}

type Run = (name: string, payload: string, requestId: string, qualifier: string | undefined) => Promise<InvocationResult>;

export class AsyncInvoker {
  readonly #run: Run;
  readonly #options: AsyncInvokerOptions;
  readonly #pending = new Set<Promise<void>>();
  readonly #timers = new Set<NodeJS.Timeout>();
  #closed = false;

  constructor(run: Run, options: AsyncInvokerOptions) {
    this.#run = run;
    this.#options = options;
  }

  /** Accepts an invocation; it runs soon, and again on failure. */
  enqueue(name: string, payload: string, requestId: string, qualifier?: string): void {
    this.#attempt(name, payload, requestId, qualifier, 0);
  }

  /** How many accepted invocations have not finished (running or waiting to retry). */
  get backlog(): number {
    return this.#pending.size + this.#timers.size;
  }

  /** Stops retrying; waits for attempts already running. */
  async close(): Promise<void> {
    this.#closed = true;
    for (const timer of this.#timers) clearTimeout(timer);
    this.#timers.clear();
    await Promise.all(this.#pending);
  }

  #attempt(name: string, payload: string, requestId: string, qualifier: string | undefined, attempt: number): void {
    if (this.#closed) return;
    const running = this.#run(name, payload, requestId, qualifier).then(
      (result) => (result.status === "ok" ? undefined : `${result.error instanceof Error ? result.error.message : `${result.error.errorType}: ${result.error.message}`}`),
      (error: unknown) => (error instanceof Error ? error.message : String(error)),
    ).then((failure) => {
      this.#pending.delete(running);
      if (failure === undefined) return;
      const delay = this.#options.retryDelaysMs[attempt];
      if (delay === undefined || this.#closed) {
        this.#options.log({
          time: Date.now(),
          level: "error",
          source: "host",
          function: name,
          requestId,
          message: `asynchronous invocation failed after ${attempt + 1} attempt(s); discarded: ${failure}`,
        });
        return;
      }
      const timer = setTimeout(() => {
        this.#timers.delete(timer);
        this.#attempt(name, payload, requestId, qualifier, attempt + 1);
      }, delay);
      this.#timers.add(timer);
    });
    this.#pending.add(running);
  }
}
