// The pool of one function version: hands out warm idle instances, starts
// new ones (cold starts) up to the function's concurrency, queues the rest,
// and retires instances that trap. See ./README.md.
import type { ContextRecord, EventValue } from "@wfn/sdk/abi";
import type { PreparedComponent } from "../artifact/prepare.js";
import type { FunctionConfig } from "../config/function-config.js";
import { WfnError } from "../errors.js";
import type { CallResult } from "../sandbox/instance.js";
import type { Executor, ExecutorSet } from "./executor.js";

/** One instance as the pool sees it. */
interface Slot {
  id: number;
  executor: Executor;
  state: "idle" | "busy";
  invocations: number;
  lastUsedAt: number;
}

/** The result of one invocation through the pool. */
export interface PoolInvocation {
  result: CallResult;
  /** Whether this invocation had to start a new instance. */
  coldStart: boolean;
  /** Milliseconds spent creating the instance, on a cold start. */
  initMs: number | undefined;
}

export interface PoolOptions {
  component: PreparedComponent;
  config: FunctionConfig;
  executors: ExecutorSet;
  logLimitBytes: number;
}

let nextInstanceId = 1;

export class FunctionPool {
  readonly #options: PoolOptions;
  readonly #slots = new Set<Slot>();
  readonly #idle: Slot[] = [];
  readonly #waiters: Array<(slot: Slot | WfnError) => void> = [];
  #starting = 0;
  #inFlight = 0;
  #closed = false;
  #drained: (() => void) | undefined;

  constructor(options: PoolOptions) {
    this.#options = options;
  }

  /** Instances: total, idle, busy, starting. */
  get stats() {
    return { instances: this.#slots.size, idle: this.#idle.length, busy: this.#slots.size - this.#idle.length, starting: this.#starting };
  }

  /** Starts instances until `minInstances` are warm. */
  async warm(): Promise<void> {
    const missing = this.#options.config.minInstances - this.#slots.size - this.#starting;
    const started = Array.from({ length: Math.max(0, missing) }, () =>
      this.#start().then(({ slot }) => this.#release(slot)),
    );
    await Promise.all(started);
  }

  /** Runs one invocation on an instance of this function. */
  async invoke(event: EventValue, context: ContextRecord): Promise<PoolInvocation> {
    if (this.#closed) throw new WfnError("WFN_SHUTTING_DOWN", "this function version is being replaced or the host is stopping");
    this.#inFlight++;
    try {
      const lease = await this.#acquire();
      let result: CallResult;
      try {
        result = await lease.slot.executor.call(lease.slot.id, event, context);
      } catch (error) {
        this.#discard(lease.slot);
        throw error;
      }
      lease.slot.invocations++;
      if (result.status === "trap") this.#discard(lease.slot);
      else this.#release(lease.slot);
      return { result, coldStart: lease.coldStart, initMs: lease.initMs };
    } finally {
      this.#inFlight--;
      if (this.#inFlight === 0) this.#drained?.();
    }
  }

  /** Stops taking invocations, waits for those in flight, then removes every instance. */
  async drain(): Promise<void> {
    this.#closed = true;
    const refused = new WfnError("WFN_SHUTTING_DOWN", "this function version was replaced or the host is stopping");
    for (const waiter of this.#waiters.splice(0)) waiter(refused);
    if (this.#inFlight > 0) await new Promise<void>((resolve) => (this.#drained = resolve));
    for (const slot of [...this.#slots]) this.#discard(slot);
    this.#options.executors.unload(this.#options.component.sha256);
  }

  async #acquire(): Promise<{ slot: Slot; coldStart: boolean; initMs: number | undefined }> {
    const idle = this.#idle.pop();
    if (idle !== undefined) {
      idle.state = "busy";
      return { slot: idle, coldStart: false, initMs: undefined };
    }
    if (this.#slots.size + this.#starting < this.#options.config.maxConcurrency) {
      const { slot, initMs } = await this.#start();
      return { slot, coldStart: true, initMs };
    }
    const next = await new Promise<Slot | WfnError>((resolve) => this.#waiters.push(resolve));
    if (next instanceof WfnError) throw next;
    return { slot: next, coldStart: false, initMs: undefined };
  }

  async #start(): Promise<{ slot: Slot; initMs: number }> {
    const { component, config, executors, logLimitBytes } = this.#options;
    const executor = executors.place(component.sha256);
    const id = nextInstanceId++;
    this.#starting++;
    try {
      const initMs = await executor.createInstance(id, component, { env: config.env, logLimitBytes });
      const slot: Slot = { id, executor, state: "busy", invocations: 0, lastUsedAt: Date.now() };
      this.#slots.add(slot);
      return { slot, initMs };
    } finally {
      this.#starting--;
    }
  }

  #release(slot: Slot): void {
    slot.lastUsedAt = Date.now();
    if (this.#closed || !slot.executor.alive) {
      this.#discard(slot);
      return;
    }
    const waiter = this.#waiters.shift();
    if (waiter !== undefined) {
      slot.state = "busy";
      waiter(slot);
      return;
    }
    slot.state = "idle";
    this.#idle.push(slot);
  }

  #discard(slot: Slot): void {
    if (!this.#slots.delete(slot)) return;
    const at = this.#idle.indexOf(slot);
    if (at >= 0) this.#idle.splice(at, 1);
    slot.executor.destroyInstance(slot.id, this.#options.component.sha256);
    // A waiter that lost its chance to this slot can now start a fresh instance.
    const waiter = this.#waiters.shift();
    if (waiter !== undefined && !this.#closed) {
      this.#start().then(
        ({ slot: fresh }) => waiter(fresh),
        (error: unknown) => waiter(error instanceof WfnError ? error : new WfnError("WFN_INTERNAL", String(error))),
      );
    }
  }
}
