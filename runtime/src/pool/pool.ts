// The pool of one function version: its configuration and its instances.
// The scheduler decides when and where they run; see ./README.md.
import type { ContextRecord, EventValue } from "@wfn/sdk/abi";
import { WfnError } from "../errors.js";
import type { FunctionConfig } from "../config/function-config.js";
import type { CallResult } from "../sandbox/instance.js";
import type { InstanceSettings, LoadableComponent } from "./protocol.js";

/** An instance whose memory passed this share of its function's `memoryMB` is replaced after its call (wherever it ran). */
export const RECYCLE_AT_MEMORY_SHARE = 0.75;

/** How a scheduled invocation ended. */
export type ScheduledResult =
  | { status: "done"; result: CallResult; coldStart: boolean; initMs: number | undefined }
  | { status: "timeout"; elapsedMs: number; coldStart: boolean; initMs: number | undefined };

/** An instance, as its pool counts it (the scheduler's instances have more). */
export interface PoolInstance {
  /** `lent`: idle, and lent to the executor it lives on, which runs routed requests on it (./README.md). */
  state: "starting" | "idle" | "busy" | "lent";
  /** Word 0 is 1 while the executor an instance is lent to runs a request on it. */
  readonly running?: Int32Array;
  lastUsedAt: number;
}

/** What a pool asks of the scheduler that runs it (./scheduler.ts). */
export interface PoolScheduler<I extends PoolInstance> {
  attach(pool: FunctionPool<I>): void;
  replenish(pool: FunctionPool<I>): Promise<void>;
  /** `origin`: the executor that accepted the request and had no idle instance of the pool for it. */
  submit(pool: FunctionPool<I>, event: EventValue, context: ContextRecord, origin?: number): Promise<ScheduledResult>;
  drain(pool: FunctionPool<I>): Promise<void>;
}

export interface PoolOptions<I extends PoolInstance> {
  name: string;
  /** Names the version's pool across threads (`name@version`). */
  key: string;
  config: FunctionConfig;
  component: LoadableComponent;
  scheduler: PoolScheduler<I>;
  instanceSettings: InstanceSettings;
}

export class FunctionPool<I extends PoolInstance = PoolInstance> {
  readonly name: string;
  readonly key: string;
  readonly config: FunctionConfig;
  readonly component: LoadableComponent;
  readonly instanceSettings: InstanceSettings;
  readonly instances = new Set<I>();
  /**
   * Invocations queued for an instance, shared with the executors: [0] those on the main thread
   * ({@link waiting}), [1] requests waiting on an executor for a busy instance lent to it (the
   * executors count them themselves). Both count against the host's queue.
   */
  readonly queue = new Int32Array(new SharedArrayBuffer(8));
  /** Invocations holding an instance (starting it or running on it). */
  running = 0;
  /** Set once the pool is being replaced or removed. */
  draining = false;
  readonly #scheduler: PoolScheduler<I>;

  constructor(options: PoolOptions<I>) {
    this.name = options.name;
    this.key = options.key;
    this.config = options.config;
    this.component = options.component;
    this.instanceSettings = options.instanceSettings;
    this.#scheduler = options.scheduler;
    this.#scheduler.attach(this);
  }

  /** `instance`: instances are reused across invocations; `request`: a fresh instance for each. */
  get isolation(): FunctionConfig["isolation"] {
    return this.config.isolation;
  }

  /** Idle instances to keep ready: the minimum, or (fresh instance per request) at least one spare. */
  get warmTarget(): number {
    return this.isolation === "request" ? Math.max(1, this.config.minInstances) : this.config.minInstances;
  }

  /** Instances that count toward `warmTarget`. */
  get warmCount(): number {
    let count = 0;
    for (const instance of this.instances) if (instance.state !== "busy" || this.isolation === "instance") count++;
    return count;
  }

  /** The most instances this pool may have at once. */
  get instanceLimit(): number {
    return this.isolation === "request" ? this.config.maxConcurrency + this.warmTarget : this.config.maxConcurrency;
  }

  /** Idle instances, most recently used first (their caches are warmest). */
  idleInstances(): I[] {
    return [...this.instances].filter((instance) => instance.state === "idle").sort((a, b) => b.lastUsedAt - a.lastUsedAt);
  }

  /** Invocations queued on the main thread for an instance. */
  get waiting(): number {
    return this.queue[0]!;
  }

  set waiting(count: number) {
    Atomics.store(this.queue, 0, count);
  }

  /** Requests waiting on executors for busy instances lent to them. */
  get waitingOnExecutors(): number {
    return Atomics.load(this.queue, 1);
  }

  get stats(): { instances: number; idle: number; busy: number; starting: number; waiting: number } {
    let idle = 0;
    let starting = 0;
    for (const instance of this.instances) {
      // A lent instance is busy while its executor runs a request on it (a shared word it sets).
      if (instance.state === "idle" || (instance.state === "lent" && (instance.running === undefined || Atomics.load(instance.running, 0) === 0))) idle++;
      else if (instance.state === "starting") starting++;
    }
    return { instances: this.instances.size, idle, busy: this.instances.size - idle, starting, waiting: this.waiting + this.waitingOnExecutors };
  }

  /** Starts the minimum number of warm instances and resolves when they are ready. */
  warm(): Promise<void> {
    return this.#scheduler.replenish(this);
  }

  invoke(event: EventValue, context: ContextRecord, origin?: number): Promise<ScheduledResult> {
    return this.#scheduler.submit(this, event, context, origin);
  }

  /** Lets queued and running invocations finish, then removes every instance. */
  drain(): Promise<void> {
    return this.#scheduler.drain(this);
  }
}

/** The 429 of an invocation that found its function's concurrency and queue full (TooManyRequestsException). */
export function throttled(detail: string): WfnError {
  return new WfnError("WFN_THROTTLED", "Rate Exceeded.", { details: { reason: "ReservedFunctionConcurrentInvocationLimitExceeded", detail } });
}
