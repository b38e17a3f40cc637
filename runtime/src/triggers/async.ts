// Asynchronous invocations (Invoke API `Event`, schedules, storage
// notifications): written to the store before they are acknowledged, run in
// the background, retried like AWS Lambda (by default 2 retries, growing
// delays, events older than 6 h dropped), and on final failure written to the
// function's on-failure queue or to the dead-letter store as a Lambda
// destination record. A host that crashes leaves them in the store: the next
// one runs them once their lease ends (at least once).
import type { EventValue } from "@wfn/sdk/abi";
import type { AsyncConfig } from "../config/function-config.js";
import { isWfnError } from "../errors.js";
import { lambdaErrorPayload, type InvocationResult } from "../invocation.js";
import type { LogSink } from "../observe/log.js";
import type { AsyncInvocation, Store } from "../store/store.js";
import { decodeEvent, encodeEvent, requestPayload } from "./async-events.js";

export interface AsyncInvocationsOptions {
  store: Store;
  run(name: string, event: EventValue, options: { requestId: string; qualifier: string | undefined }): Promise<InvocationResult>;
  /** The function's retry settings and time limit, or undefined if it no longer exists. */
  settings(name: string): { async: AsyncConfig; timeoutMs: number } | undefined;
  /** Puts a destination record on a queue. */
  sendToQueue(queue: string, body: string): Promise<void>;
  arn(name: string, qualifier: string): string;
  log: LogSink;
  /** Delay before the first retry, doubled for each further one (at most 5 min). Default: 60 s. */
  retryDelayMs: number;
  /** How long a claimed invocation is reserved before another attempt may take it. Default: 60 s (or the function's timeout + 10 s). */
  leaseMs: number;
  /** How often the store is checked for due invocations. Default: 1 s. */
  pollMs: number;
  /** Invocations run at once. */
  concurrency: number;
  /** Told when an attempt starts, with the age of its event (metrics). */
  onAttempt?(name: string, ageMs: number): void;
}

type Condition = "RetriesExhausted" | "EventAgeExceeded" | "FunctionNotFound";

/** How often a host of a shared store looks for claims whose host is gone. */
const ORPHAN_CHECK_MS = 5000;

export class AsyncInvocations {
  readonly #options: AsyncInvocationsOptions;
  readonly #running = new Set<Promise<void>>();
  #timer: NodeJS.Timeout | undefined;
  /** When the pending timer fires (epoch ms). */
  #dueAt = 0;
  /** Whether something asked for a tick while one was running. */
  #again = false;
  #ticking: Promise<void> | undefined;
  #closed = false;
  #started = false;
  /** When the claims of hosts that are gone were last looked for. */
  #recoveredAt = 0;

  constructor(options: AsyncInvocationsOptions) {
    this.#options = options;
  }

  /**
   * Ends the claims a previous host left behind (it stopped while running
   * them), so they run again. Call before anything is accepted.
   */
  async recover(): Promise<void> {
    const recovered = await this.#options.store.recoverAsync(Date.now());
    if (recovered > 0) {
      this.#options.log({ time: Date.now(), level: "warn", source: "host", message: `${recovered} asynchronous invocation(s) were running when the previous host stopped; running them again` });
    }
  }

  /** Begins running due invocations (once the functions they are for are loaded). */
  start(): void {
    this.#started = true;
    this.#schedule(0);
  }

  /** Accepts an invocation: once this resolves, it is in the store and will run. */
  async accept(name: string, event: EventValue, requestId: string, qualifier?: string): Promise<void> {
    const now = Date.now();
    await this.#options.store.putAsync({ id: requestId, function: name, qualifier, event: encodeEvent(event), attempts: 0, createdAt: now, nextAttemptAt: now, lastError: undefined });
    this.#schedule(0);
  }

  /** Invocations accepted and not yet done. */
  pending(): Promise<number> {
    return this.#options.store.countAsync();
  }

  /** Stops taking invocations; waits for those running. What is left stays in the store. */
  async close(): Promise<void> {
    this.#closed = true;
    clearTimeout(this.#timer);
    await this.#ticking;
    await Promise.all(this.#running);
  }

  /** Ticks after `delayMs`, unless a tick is already due sooner. */
  #schedule(delayMs: number): void {
    if (this.#closed || !this.#started) return;
    const dueAt = Date.now() + delayMs;
    if (this.#timer !== undefined && this.#dueAt <= dueAt) return;
    clearTimeout(this.#timer);
    this.#dueAt = dueAt;
    this.#timer = setTimeout(() => {
      this.#timer = undefined;
      void this.#tick();
    }, delayMs);
  }

  /**
   * Claims due invocations into the free slots. At most one tick runs at a
   * time; `#ticking` is set before the claim can finish (even when it finishes
   * without awaiting anything), so a tick that ends always clears it.
   */
  #tick(): Promise<void> {
    if (this.#closed) return Promise.resolve();
    if (this.#ticking !== undefined) {
      this.#again = true;
      return this.#ticking;
    }
    this.#again = false;
    const tick = this.#claim().finally(() => {
      this.#ticking = undefined;
      this.#schedule(this.#again ? 0 : this.#options.pollMs);
    });
    this.#ticking = tick;
    return tick;
  }

  async #claim(): Promise<void> {
    try {
      await this.#recoverOrphans();
      const room = this.#options.concurrency - this.#running.size;
      if (room <= 0) return;
      const claimed = await this.#options.store.claimAsync(Date.now(), this.#options.leaseMs, room);
      for (const invocation of claimed) {
        const running = this.#attempt(invocation).finally(() => {
          this.#running.delete(running);
          this.#schedule(0);
        });
        this.#running.add(running);
      }
    } catch (error) {
      this.#options.log({ time: Date.now(), level: "error", source: "host", message: `asynchronous invocations: ${(error as Error).message}` });
    }
  }

  /** On a shared store, now and then: the claims of hosts that died run again here, without waiting for their leases. */
  async #recoverOrphans(): Promise<void> {
    const { store } = this.#options;
    if (store.recoverOrphanedAsync === undefined || Date.now() - this.#recoveredAt < ORPHAN_CHECK_MS) return;
    this.#recoveredAt = Date.now();
    const recovered = await store.recoverOrphanedAsync(Date.now());
    if (recovered > 0) {
      this.#options.log({ time: Date.now(), level: "warn", source: "host", message: `${recovered} asynchronous invocation(s) were running on a host that is gone; running them again` });
    }
  }

  async #attempt(invocation: AsyncInvocation): Promise<void> {
    const { store } = this.#options;
    const settings = this.#options.settings(invocation.function);
    const event = decodeEvent(invocation.event);
    this.#options.onAttempt?.(invocation.function, Date.now() - invocation.createdAt);
    if (settings === undefined) return this.#fail(invocation, event, "FunctionNotFound", undefined);
    if (Date.now() - invocation.createdAt > settings.async.maximumEventAgeSeconds * 1000) {
      return this.#fail(invocation, event, "EventAgeExceeded", undefined);
    }
    if (settings.timeoutMs + 10_000 > this.#options.leaseMs) await store.extendAsync(invocation.id, Date.now() + settings.timeoutMs + 10_000);
    let result: InvocationResult | undefined;
    let failure: string;
    try {
      result = await this.#options.run(invocation.function, event, { requestId: invocation.id, qualifier: invocation.qualifier });
      if (result.status === "ok") {
        await store.deleteAsync(invocation.id);
        return;
      }
      failure = result.status === "error" ? `${result.error.errorType}: ${result.error.message}` : result.error.message;
    } catch (error) {
      if (isWfnError(error) && error.code === "WFN_FUNCTION_NOT_FOUND") return this.#fail(invocation, event, "FunctionNotFound", undefined);
      failure = error instanceof Error ? error.message : String(error);
    }
    if (invocation.attempts <= settings.async.maximumRetryAttempts) {
      const delay = Math.min(300_000, this.#options.retryDelayMs * 2 ** (invocation.attempts - 1));
      await store.retryAsync(invocation.id, Date.now() + delay, failure);
      return;
    }
    return this.#fail(invocation, event, "RetriesExhausted", result, failure);
  }

  /** Writes the Lambda destination record to the on-failure queue or the dead-letter store. */
  async #fail(invocation: AsyncInvocation, event: EventValue, condition: Condition, result: InvocationResult | undefined, failure?: string): Promise<void> {
    const { store } = this.#options;
    const version = invocation.qualifier ?? "$LATEST";
    const record = {
      version: "1.0",
      timestamp: new Date().toISOString(),
      requestContext: {
        requestId: invocation.id,
        functionArn: this.#options.arn(invocation.function, version),
        condition,
        approximateInvokeCount: condition === "RetriesExhausted" ? invocation.attempts : Math.max(0, invocation.attempts - 1),
      },
      requestPayload: requestPayload(event),
      ...(result === undefined || result.status === "ok"
        ? {}
        : {
            responseContext: { statusCode: 200, executedVersion: version, functionError: "Unhandled" },
            responsePayload: lambdaErrorPayload(result),
          }),
    };
    const queue = this.#options.settings(invocation.function)?.async.onFailure?.queue;
    if (queue !== undefined) await this.#options.sendToQueue(queue, JSON.stringify(record));
    else await store.putAsyncFailure({ id: invocation.id, function: invocation.function, failedAt: Date.now(), record });
    await store.deleteAsync(invocation.id);
    this.#options.log({
      time: Date.now(),
      level: "error",
      source: "host",
      function: invocation.function,
      requestId: invocation.id,
      message: `asynchronous invocation failed for good (${condition} after ${invocation.attempts} attempt(s)${failure ? `: ${failure}` : ""}); recorded in ${queue === undefined ? "the dead-letter store" : `queue ${queue}`}`,
    });
  }
}
