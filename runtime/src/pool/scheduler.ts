// The scheduler: decides which invocation runs on which executor and
// instance, enforces time limits, queues what cannot run yet (bounded,
// timed), keeps pools warm and reclaims idle instances. An executor runs
// many invocations at once (each on its own instance); the limits are per
// function (`maxConcurrency` instances busy) and per host (`maxInstances`).
// Runs on the host's main thread. See ./README.md for the design.
import type { ContextRecord, EventValue } from "@wfn/sdk/abi";
import { asWfnError, WfnError } from "../errors.js";
import type { CallResult } from "../sandbox/instance.js";
import type { Caller } from "../capabilities/capability.js";
import { Executor, type ExecutorHandle, type HostCallHandler } from "./executor.js";
import type { LogRecord } from "../observe/log.js";
import type { InvocationSummary } from "../observe/telemetry.js";
import type { HostCallRequest, ListenSettings, RoutingSnapshot } from "./protocol.js";
import { RECYCLE_AT_MEMORY_SHARE, throttled, type FunctionPool as AnyPool, type PoolScheduler, type ScheduledResult } from "./pool.js";

export type { ScheduledResult };

/** A pool this scheduler runs. */
type FunctionPool = AnyPool<Instance>;

/** Limits and tuning of a scheduler (host-wide). */
export interface SchedulerOptions {
  /** Executor threads. */
  executors: number;
  /** Instances across every function; above it, idle instances of other functions are evicted (LRU). */
  maxInstances: number;
  /** Invocations that may wait per function before new ones are throttled. */
  maxQueueLength: number;
  /** How long an invocation may wait for an instance before it is throttled, in ms. */
  maxQueueWaitMs: number;
  /** Idle instances above a function's minimum are reclaimed after this long, in ms. */
  idleTimeoutMs: number;
  /** Instances are replaced after this many invocations (0: never). */
  maxInvocationsPerInstance: number;
  /** How long close() waits for in-flight work before stopping executors, in ms. */
  drainTimeoutMs: number;
  /** Answers guests' calls to the host (the capabilities' host sides), told which function calls. Default: refuses them. */
  hostCalls?: (request: HostCallRequest, caller: Caller) => Promise<unknown>;
  /** Logs and summaries of invocations executors ran themselves (they accept HTTP). */
  onRecords?: (logs: LogRecord[], invocations: InvocationSummary[]) => void;
  /** Told about lost executors and evictions, for the host's log. */
  onEvent?: (event: SchedulerEvent) => void;
  /** Starts executor `index`. Default: a worker thread (`Executor`); tests give a fake one. */
  startExecutor?: (index: number, hostCalls: HostCallHandler) => ExecutorHandle;
  /** Outbound origins the executors send elsewhere (HostOptions.outboundRoutes). */
  outboundRoutes?: Record<string, string>;
}

export type SchedulerEvent =
  | { kind: "executor-lost"; index: number; reason: string; instancesLost: number }
  | { kind: "evicted"; functionName: string; reason: "capacity" | "idle" };

/** One instance, as the scheduler sees it. */
export interface Instance {
  readonly id: number;
  readonly pool: FunctionPool;
  readonly slot: Slot;
  state: "starting" | "idle" | "busy" | "lent";
  readonly running: Int32Array;
  /** Lent, and asked back. */
  recalled: boolean;
  invocations: number;
  lastUsedAt: number;
  /** Started for calls that were waiting: the first call on it is a cold start, and reports this init time. */
  initMs: number | undefined;
}

/** An executor position: its current thread and what lives on it. */
interface Slot {
  readonly index: number;
  executor: ExecutorHandle;
  /** performance.now() when the current executor started. */
  startedAt: number;
  readonly instances: Set<Instance>;
  /** The calls running on it now (started, suspended or computing). */
  readonly running: Set<Running>;
  /** Instances being created on it. */
  starting: number;
}

interface Running {
  call: PendingCall;
  instance: Instance;
  timer: NodeJS.Timeout;
  /** Set by whichever of result, failure, timeout or executor exit handles the call first. */
  settled: boolean;
  startedAt: number;
}


interface PendingCall {
  pool: FunctionPool;
  event: EventValue;
  context: ContextRecord;
  resolve: (result: ScheduledResult) => void;
  reject: (error: WfnError) => void;
  queueTimer: NodeJS.Timeout | undefined;
  coldStart: boolean;
  initMs: number | undefined;
}

interface WarmTask {
  pool: FunctionPool;
  done: Promise<void>;
  settle: (error?: unknown) => void;
}

let nextInstanceId = 1;

/**
 * How long an executor has to confirm that it dropped an instance whose
 * invocation timed out. A suspended instance is dropped at once, a computing
 * one stops itself at its next interrupt check; an executor that cannot
 * answer in this time (a guest that could not be instrumented keeps it
 * computing) is replaced.
 */
const ABANDON_GRACE_MS = 2000;
/** How often the interrupt request is repeated until the executor confirms. */
const INTERRUPT_REPEAT_MS = 50;

/**
 * Instances being created at once on one executor, for calls that wait.
 * Creating an instance keeps its executor computing for milliseconds; a
 * burst of calls that started one each would hold every call already
 * running there (their responses wait behind the creations, and time out),
 * where an instance finishing its call is usually free sooner.
 */
const MAX_STARTING_PER_SLOT = 2;

/**
 * An executor busier than this (share of its time, see Executor.busy) gets
 * no new instance for waiting calls: its thread is the limit, and the calls
 * wait for an instance there to finish rather than for one to be created.
 */
const GROW_BUSY_LIMIT = 0.9;
/** How soon calls waiting for such an executor look again, in ms. */
const GROW_RETRY_MS = 50;


export class Scheduler implements PoolScheduler<Instance> {
  readonly #options: SchedulerOptions;
  readonly #slots: Slot[] = [];
  readonly #queue: PendingCall[] = [];
  readonly #warmTasks: WarmTask[] = [];
  readonly #pools = new Set<FunctionPool>();
  /** Every instance, by its number (host calls name theirs). */
  readonly #instances = new Map<number, Instance>();
  readonly #sweeper: NodeJS.Timeout;
  #instanceCount = 0;
  #closing = false;
  /** Executors that died soon after starting, in a row; too many and the scheduler stops replacing them. */
  #quickDeaths = 0;
  #broken: WfnError | undefined;
  #idleWaiters: Array<() => void> = [];
  /** A pump due because calls wait for instances that busy executors could not start yet. */
  #growLater: NodeJS.Timeout | undefined;
  /** How executors accept HTTP, while they do; and the routing they follow. */
  #listen: ListenSettings | undefined;
  #routing: RoutingSnapshot | undefined;

  constructor(options: SchedulerOptions) {
    this.#options = options;
    for (let index = 0; index < options.executors; index++) {
      const slot: Slot = { index, executor: undefined as never, startedAt: 0, instances: new Set(), running: new Set(), starting: 0 };
      slot.executor = this.#startExecutor(slot);
      this.#slots.push(slot);
    }
    this.#sweeper = setInterval(() => this.#sweepIdle(), Math.max(1000, Math.min(30_000, options.idleTimeoutMs / 4)));
    this.#sweeper.unref();
  }

  get instanceCount(): number {
    return this.#instanceCount;
  }

  /** Sends every executor the routing it follows for the requests it serves itself. */
  route(snapshot: RoutingSnapshot): void {
    this.#routing = snapshot;
    for (const slot of this.#slots) slot.executor.route(snapshot);
  }

  /**
   * Has every executor accept HTTP connections on one port (`reusePort`);
   * resolves with the port. Idle instances are lent to their executors from
   * then on. Rejects (and listens nowhere) when the port cannot be bound.
   */
  async listen(settings: ListenSettings): Promise<number> {
    let port = settings.port;
    const live = this.#slots.filter((slot) => slot.executor.alive);
    try {
      for (const slot of live) port = await slot.executor.listen({ ...settings, port });
    } catch (error) {
      for (const slot of live) slot.executor.unlisten();
      throw error;
    }
    this.#listen = { ...settings, port };
    for (const instance of this.#instances.values()) if (instance.state === "idle") this.#settle(instance);
    return port;
  }

  /** Executors stop accepting connections, and give their lent instances back once idle. */
  unlisten(): void {
    this.#listen = undefined;
    for (const slot of this.#slots) slot.executor.unlisten();
  }

  /** Registers a pool so its minimum is kept warm. */
  attach(pool: FunctionPool): void {
    this.#pools.add(pool);
  }

  /**
   * Runs a call for a pool as soon as an instance and an executor are free;
   * resolves when it ran (or timed out). A call that cannot start at once
   * waits — at most `maxQueueLength` per function, each at most
   * `maxQueueWaitMs` — or is refused with WFN_THROTTLED.
   */
  submit(pool: FunctionPool, event: EventValue, context: ContextRecord, origin?: number): Promise<ScheduledResult> {
    if (this.#closing) return Promise.reject(new WfnError("WFN_SHUTTING_DOWN"));
    if (this.#broken) return Promise.reject(this.#broken);
    if (origin !== undefined) this.#attract(pool, origin);
    return new Promise<ScheduledResult>((resolve, reject) => {
      const call: PendingCall = { pool, event, context, resolve, reject, queueTimer: undefined, coldStart: false, initMs: undefined };
      this.#queue.push(call);
      pool.waiting++;
      this.#pump();
      if (!this.#queue.includes(call)) return;
      // Calls waiting while the pool grows toward its concurrency do not count against the queue.
      if (pool.waiting + pool.waitingOnExecutors > this.#options.maxQueueLength + Math.max(0, pool.config.maxConcurrency - pool.running)) {
        this.#unqueue(call);
        reject(throttled(`${pool.name} already has ${this.#options.maxQueueLength} invocation(s) waiting`));
        return;
      }
      call.queueTimer = setTimeout(() => {
        if (!this.#unqueue(call)) return;
        reject(throttled(`no instance of ${pool.name} became free within ${this.#options.maxQueueWaitMs} ms`));
        this.#notifyIdle();
      }, this.#options.maxQueueWaitMs);
    });
  }

  /** Removes a call from the queue; false if it was not there (it started). */
  #unqueue(call: PendingCall): boolean {
    const at = this.#queue.indexOf(call);
    if (at < 0) return false;
    this.#queue.splice(at, 1);
    call.pool.waiting--;
    return true;
  }

  /**
   * Makes sure a pool has its minimum (or its spares) warm. Resolves when the
   * instances it had to start are ready; rejects if one could not start.
   */
  replenish(pool: FunctionPool): Promise<void> {
    if (this.#closing || pool.draining) return Promise.resolve();
    const pending = this.#warmTasks.filter((task) => task.pool === pool);
    const missing = pool.warmTarget - pool.warmCount - pending.length;
    for (let i = 0; i < missing; i++) {
      let settle!: (error?: unknown) => void;
      const done = new Promise<void>((resolve, reject) => (settle = (error) => (error === undefined ? resolve() : reject(error))));
      done.catch(() => {});
      const task: WarmTask = { pool, done, settle };
      this.#warmTasks.push(task);
      pending.push(task);
    }
    if (missing > 0) this.#pump();
    return Promise.all(pending.map((task) => task.done)).then(() => {});
  }

  /** Removes every instance of a pool once its running and queued invocations are done. */
  async drain(pool: FunctionPool): Promise<void> {
    pool.draining = true;
    for (let at = this.#warmTasks.length - 1; at >= 0; at--) {
      if (this.#warmTasks[at]!.pool === pool) this.#warmTasks.splice(at, 1)[0]!.settle();
    }
    for (const instance of pool.instances) if (instance.state === "lent") this.#recall(instance);
    while (pool.running > 0 || pool.waiting > 0 || [...pool.instances].some((i) => i.state === "starting" || i.state === "lent")) {
      await new Promise<void>((resolve) => this.#idleWaiters.push(resolve));
    }
    for (const instance of [...pool.instances]) this.#destroy(instance);
    this.#pools.delete(pool);
    for (const slot of this.#slots) slot.executor.unload(pool.component.key);
  }

  /** Stops taking work, lets in-flight invocations finish (bounded), then stops the executors. */
  async close(): Promise<void> {
    this.#closing = true;
    clearInterval(this.#sweeper);
    clearTimeout(this.#growLater);
    for (const task of this.#warmTasks.splice(0)) task.settle();
    // Executors that accept stop; the calls they run on lent instances finish like any other.
    if (this.#listen !== undefined) this.unlisten();
    const deadline = Date.now() + this.#options.drainTimeoutMs;
    const lentOut = () => [...this.#instances.values()].some((instance) => instance.state === "lent");
    while ((this.#queue.length > 0 || this.#slots.some((s) => s.running.size > 0 || s.starting > 0) || lentOut()) && Date.now() < deadline) {
      let timer: NodeJS.Timeout | undefined;
      await new Promise<void>((resolve) => {
        this.#idleWaiters.push(resolve);
        timer = setTimeout(resolve, Math.max(1, deadline - Date.now()));
      });
      clearTimeout(timer);
    }
    const stopped = new WfnError("WFN_SHUTTING_DOWN", "the host stopped before this invocation could finish");
    for (const call of this.#queue.splice(0)) {
      clearTimeout(call.queueTimer);
      call.reject(stopped);
    }
    await Promise.all(this.#slots.map((slot) => slot.executor.quiesce(Math.max(0, deadline - Date.now()))));
    await Promise.all(this.#slots.map((slot) => slot.executor.terminate(stopped)));
  }

  /**
   * Starts whatever can start: queued calls on idle instances (oldest
   * first), new instances for the calls still waiting (a few at a time per
   * executor; whichever instance is free first takes the oldest call), then
   * warm-ups.
   */
  #pump(): void {
    const unplaced = new Map<FunctionPool, number>();
    for (let at = 0; at < this.#queue.length; ) {
      const call = this.#queue[at]!;
      // A pool with no idle instance for an earlier call has none for this one either.
      const instance = unplaced.has(call.pool) ? undefined : this.#idleFor(call.pool);
      if (instance === undefined) {
        const waiting = (unplaced.get(call.pool) ?? 0) + 1;
        unplaced.set(call.pool, waiting);
        // Instances lent to executors come back for it first; new ones are started for the rest.
        if (this.#startingOf(call.pool) < waiting && !this.#recallFor(call.pool)) this.#grow(call.pool);
        at++;
        continue;
      }
      this.#queue.splice(at, 1);
      call.pool.waiting--;
      clearTimeout(call.queueTimer);
      this.#start(call, instance);
    }
    while (this.#warmTasks.length > 0) {
      const at = this.#warmTasks.findIndex((task) => this.#canGrow(task.pool));
      if (at < 0) return;
      const [task] = this.#warmTasks.splice(at, 1);
      const slot = this.#slotFor(task!.pool);
      if (slot === undefined) {
        task!.settle(this.#broken ?? new WfnError("WFN_EXECUTOR_FAILED", "no executor is running"));
        continue;
      }
      void this.#warm(task!, slot);
    }
  }

  /** The idle instance a call of `pool` runs on now: on the least busy executor, then the most recently used. */
  #idleFor(pool: FunctionPool): Instance | undefined {
    if (pool.running >= pool.config.maxConcurrency) return undefined;
    // One pass, no sorted copy: this runs for every call.
    let best: Instance | undefined;
    for (const instance of pool.instances) {
      if (instance.state !== "idle" || !instance.slot.executor.alive) continue;
      const load = instance.slot.running.size;
      if (best === undefined || load < best.slot.running.size || (load === best.slot.running.size && instance.lastUsedAt > best.lastUsedAt)) best = instance;
    }
    return best;
  }

  /** Instances of `pool` being created, or asked back from an executor. */
  #startingOf(pool: FunctionPool): number {
    let starting = 0;
    for (const instance of pool.instances) if (instance.state === "starting" || instance.recalled) starting++;
    return starting;
  }

  /** Asks one lent instance of `pool` back; false when none is lent. */
  #recallFor(pool: FunctionPool): boolean {
    for (const instance of pool.instances) {
      if (instance.state === "lent" && !instance.recalled) {
        this.#recall(instance);
        return true;
      }
    }
    return false;
  }

  #recall(instance: Instance): void {
    if (instance.recalled) return;
    instance.recalled = true;
    instance.slot.executor.recall(instance.id);
  }

  /**
   * An instance is free: lent to its executor when that executor accepts
   * HTTP and nothing waits for the pool (the executor then runs the pool's
   * routed requests on it without asking), else idle here.
   */
  #settle(instance: Instance): void {
    instance.state = "idle";
    const pool = instance.pool;
    const lendable = this.#lends(pool) && instance.slot.executor.alive && pool.waiting === 0 && Date.now() - instance.lastUsedAt < this.#options.idleTimeoutMs;
    if (!lendable) return;
    instance.state = "lent";
    instance.slot.executor.lend(instance.id, pool.key, this.#options.idleTimeoutMs, instance.running, pool.queue);
  }

  /** Whether the pool's instances may be lent: executors accept, and its instances can be run there under the scheduler's rules. */
  #lends(pool: FunctionPool): boolean {
    return (
      this.#listen !== undefined &&
      !pool.draining &&
      pool.isolation === "instance" &&
      this.#options.maxInvocationsPerInstance === 0 &&
      // Only a guest that can be interrupted: a runaway on an executor is stopped by its own check.
      pool.component.interrupts.length > 0
    );
  }

  /** A lent instance is back: idle here (the oldest waiting call takes it), or lent again. */
  #onReturned(id: number, lastUsedAt: number): void {
    const instance = this.#instances.get(id);
    if (instance === undefined || instance.state !== "lent") return;
    instance.recalled = false;
    instance.state = "idle";
    instance.lastUsedAt = Math.max(instance.lastUsedAt, lastUsedAt);
    this.#afterWork();
    if (instance.state === "idle" && instance.pool.instances.has(instance)) this.#settle(instance);
  }

  /** A lent instance is gone (its executor discarded it): replace it if the pool's minimum needs it. */
  #onLost(id: number): void {
    const instance = this.#instances.get(id);
    if (instance === undefined) return;
    this.#forget(instance);
    this.replenish(instance.pool).catch(() => {});
    this.#afterWork();
  }

  /**
   * A request for `pool` reached executor `origin`, which had no idle
   * instance of it lent, and was forwarded here: unless the pool already
   * has an instance there (or is at its concurrency, or the host at its
   * instance limit), start one there, which is lent to it once ready; so
   * the requests that keep arriving there stop crossing threads. The
   * request itself runs wherever an instance is free now. An instance left
   * without work elsewhere is reclaimed after its idle timeout as usual.
   */
  #attract(pool: FunctionPool, origin: number): void {
    const slot = this.#slots[origin];
    if (slot === undefined || !slot.executor.alive || !this.#lends(pool)) return;
    for (const instance of pool.instances) if (instance.slot === slot) return;
    if (pool.instances.size >= Math.min(pool.instanceLimit, pool.config.maxConcurrency) || this.#instanceCount >= this.#options.maxInstances) return;
    void this.#create(pool, slot).then(
      ({ instance }) => {
        instance.state = "idle";
        this.#afterWork();
      },
      () => this.#afterWork(),
    );
  }

  /** Starts one more instance of `pool` for the calls waiting, if the pool, the host and an executor have room. */
  #grow(pool: FunctionPool): void {
    if (pool.running + this.#startingOf(pool) >= pool.config.maxConcurrency) return;
    // A pool with no instance gets one anywhere; else only where the thread has time for more calls.
    const first = pool.instances.size === 0;
    const hasRoom = (candidate: Slot) =>
      candidate.starting < MAX_STARTING_PER_SLOT &&
      (first || candidate.running.size === 0 || candidate.executor.busy < GROW_BUSY_LIMIT);
    const slot = this.#slotFor(pool, hasRoom);
    if (slot === undefined) {
      // Busy executors are measured again in a while: look again then (nothing else may happen meanwhile).
      this.#growLater ??= setTimeout(() => {
        this.#growLater = undefined;
        this.#pump();
      }, GROW_RETRY_MS).unref();
      return;
    }
    if (!this.#canGrow(pool)) return;
    void this.#create(pool, slot).then(
      ({ instance, initMs }) => {
        instance.state = "idle";
        instance.initMs = initMs;
        this.#afterWork();
      },
      (error: unknown) => {
        // The oldest call waiting for it learns why (a guest that fails to start fails its call), the others wait on.
        const call = this.#queue.find((queued) => queued.pool === pool);
        if (call !== undefined) {
          this.#unqueue(call);
          clearTimeout(call.queueTimer);
          call.reject(asWfnError(error));
        }
        this.#afterWork();
      },
    );
  }

  /** The executor for a new instance of `pool`: the fewest calls running and starting there, then the fewest instances of `pool`, then of all. */
  #slotFor(pool: FunctionPool, hasRoom: (slot: Slot) => boolean = () => true): Slot | undefined {
    let best: Slot | undefined;
    let bestScore = Infinity;
    for (const slot of this.#slots) {
      if (!slot.executor.alive || !hasRoom(slot)) continue;
      let mine = 0;
      for (const instance of slot.instances) if (instance.pool === pool) mine++;
      const score = (slot.running.size + slot.starting) * 1_000_000 + mine * 1_000 + slot.instances.size;
      if (score < bestScore) {
        best = slot;
        bestScore = score;
      }
    }
    return best;
  }

  /** Whether `pool` may have one more instance, evicting an idle instance of another function if the host is full. */
  #canGrow(pool: FunctionPool): boolean {
    if (pool.instances.size >= pool.instanceLimit) return false;
    if (this.#instanceCount < this.#options.maxInstances) return true;
    return this.#evictFor(pool);
  }

  #evictFor(pool: FunctionPool): boolean {
    let victim: Instance | undefined;
    for (const other of this.#pools) {
      if (other === pool || other.instances.size <= other.config.minInstances) continue;
      for (const instance of other.idleInstances()) {
        if (victim === undefined || instance.lastUsedAt < victim.lastUsedAt) victim = instance;
      }
    }
    if (victim === undefined) {
      // Instances lent to executors are asked back first; the next pump evicts one of them.
      for (const other of this.#pools) {
        if (other !== pool && other.instances.size > other.config.minInstances && this.#recallFor(other)) break;
      }
      return false;
    }
    this.#destroy(victim);
    this.#options.onEvent?.({ kind: "evicted", functionName: victim.pool.name, reason: "capacity" });
    return true;
  }

  #start(call: PendingCall, instance: Instance): void {
    call.pool.running++;
    if (instance.initMs !== undefined) {
      call.coldStart = true;
      call.initMs = instance.initMs;
      instance.initMs = undefined;
    }
    this.#run(call, instance.slot, instance);
  }

  async #create(pool: FunctionPool, slot: Slot): Promise<{ instance: Instance; initMs: number }> {
    const instance: Instance = { id: nextInstanceId++, pool, slot, state: "starting", running: new Int32Array(new SharedArrayBuffer(4)), recalled: false, invocations: 0, lastUsedAt: Date.now(), initMs: undefined };
    pool.instances.add(instance);
    slot.instances.add(instance);
    this.#instances.set(instance.id, instance);
    this.#instanceCount++;
    slot.starting++;
    try {
      const initMs = await slot.executor.createInstance(instance.id, pool.component, pool.instanceSettings);
      return { instance, initMs };
    } catch (error) {
      this.#forget(instance);
      throw error;
    } finally {
      slot.starting--;
    }
  }

  async #warm(task: WarmTask, slot: Slot): Promise<void> {
    try {
      const { instance } = await this.#create(task.pool, slot);
      instance.lastUsedAt = Date.now();
      this.#settle(instance);
      task.settle();
    } catch (error) {
      // The pool stays below its minimum; the next replenish tries again.
      task.settle(error);
    } finally {
      this.#afterWork();
    }
  }

  #run(call: PendingCall, slot: Slot, instance: Instance): void {
    instance.state = "busy";
    const timeoutMs = call.pool.config.timeoutMs;
    const startedAt = performance.now();
    call.context.deadlineMs = BigInt(Date.now() + timeoutMs);
    const running: Running = {
      call,
      instance,
      startedAt,
      settled: false,
      timer: setTimeout(() => this.#timeout(slot, running), timeoutMs),
    };
    slot.running.add(running);
    slot.executor.call(instance.id, call.event, call.context).then(
      (result) => this.#finish(slot, running, result),
      (error: unknown) => this.#fail(slot, running, error),
    );
  }

  #finish(slot: Slot, running: Running, result: CallResult): void {
    if (running.settled) return;
    running.settled = true;
    clearTimeout(running.timer);
    const { call, instance } = running;
    slot.running.delete(running);
    call.pool.running--;
    instance.invocations++;
    instance.lastUsedAt = Date.now();
    const { isolation } = call.pool;
    const limit = this.#options.maxInvocationsPerInstance;
    // A guest's linear memory never shrinks, and StarlingMonkey's grows with use: replace an instance
    // well before it reaches its limit, rather than let an invocation fail for lack of memory.
    const swollen = result.memoryBytes > call.pool.config.memoryMB * 1024 * 1024 * RECYCLE_AT_MEMORY_SHARE;
    if (result.status === "trap" || isolation === "request" || swollen || (limit > 0 && instance.invocations >= limit)) this.#destroy(instance);
    else this.#settle(instance);
    // A guest asked to look at its flags past its deadline stops itself, at times before the host's
    // own timer has fired: the invocation timed out all the same.
    if (result.status === "trap" && result.timedOut === true) {
      call.resolve({ status: "timeout", elapsedMs: performance.now() - running.startedAt, coldStart: call.coldStart, initMs: call.initMs });
    } else call.resolve({ status: "done", result, coldStart: call.coldStart, initMs: call.initMs });
    this.replenish(call.pool).catch(() => {});
    this.#afterWork();
  }

  #fail(slot: Slot, running: Running, error: unknown): void {
    if (running.settled) return;
    running.settled = true;
    clearTimeout(running.timer);
    running.call.pool.running--;
    slot.running.delete(running);
    running.call.reject(asWfnError(error, "WFN_EXECUTOR_FAILED"));
    // The executor's exit handler replaces it and re-warms what was lost.
  }

  /**
   * The call overran: answer the caller, and have its executor drop the
   * instance (never resuming it). An instance suspended on the host is
   * dropped at once; one that keeps its thread computing cannot be reached,
   * and only then is the executor replaced.
   */
  #timeout(slot: Slot, running: Running): void {
    if (running.settled) return;
    running.settled = true;
    const { call, instance } = running;
    call.pool.running--;
    slot.running.delete(running);
    call.resolve({ status: "timeout", elapsedMs: performance.now() - running.startedAt, coldStart: call.coldStart, initMs: call.initMs });
    this.#forget(instance);
    const executor = slot.executor;
    // A guest computing past its deadline stops itself at its next interrupt check (a fraction of a
    // millisecond); the request is repeated in case another guest's check cleared it first. Only a
    // guest that cannot be interrupted (its module could not be instrumented) costs its executor.
    const repeat = setInterval(() => executor.interrupt(), INTERRUPT_REPEAT_MS);
    const grace = setTimeout(() => {
      clearInterval(repeat);
      executor.off("abandoned", confirmed);
      if (executor === slot.executor && executor.alive) void executor.terminate(new WfnError("WFN_TIMED_OUT", `an invocation of ${call.pool.name} timed out and could not be interrupted`));
    }, ABANDON_GRACE_MS);
    const confirmed = (id: number) => {
      if (id !== instance.id) return;
      clearTimeout(grace);
      clearInterval(repeat);
      executor.off("abandoned", confirmed);
    };
    executor.on("abandoned", confirmed);
    executor.abandon(instance.id);
    this.replenish(call.pool).catch(() => {});
    this.#afterWork();
  }

  /** An executor ended (crashed, or stopped for a runaway call): drop its instances, fail its calls, start a new one, re-warm. */
  #onExecutorExit(slot: Slot, executor: ExecutorHandle, reason: WfnError): void {
    if (slot.executor !== executor) return;
    const lost = [...slot.instances];
    for (const instance of lost) this.#forget(instance);
    for (const running of [...slot.running]) {
      if (running.settled) continue;
      running.settled = true;
      clearTimeout(running.timer);
      running.call.pool.running--;
      running.call.reject(reason.code === "WFN_SHUTTING_DOWN" ? reason : new WfnError("WFN_EXECUTOR_FAILED", `the executor running this invocation stopped: ${reason.message}`));
    }
    slot.running.clear();
    if (this.#closing) {
      this.#notifyIdle();
      return;
    }
    this.#options.onEvent?.({ kind: "executor-lost", index: slot.index, reason: reason.message, instancesLost: lost.length });
    if (reason.code !== "WFN_TIMED_OUT") this.#quickDeaths = performance.now() - slot.startedAt < 5000 ? this.#quickDeaths + 1 : 0;
    if (this.#quickDeaths >= 3 * this.#slots.length) {
      this.#broken = new WfnError("WFN_EXECUTOR_FAILED", `executors keep failing as soon as they start (last: ${reason.message})`);
      this.#options.onEvent?.({ kind: "executor-lost", index: slot.index, reason: `${this.#broken.message}; no longer replacing them`, instancesLost: 0 });
      for (const call of this.#queue.splice(0)) {
        clearTimeout(call.queueTimer);
        call.pool.waiting--;
        call.reject(this.#broken);
      }
      for (const task of this.#warmTasks.splice(0)) task.settle(this.#broken);
      return;
    }
    slot.executor = this.#startExecutor(slot);
    for (const pool of this.#pools) this.replenish(pool).catch(() => {});
    this.#afterWork();
  }

  #startExecutor(slot: Slot): ExecutorHandle {
    slot.startedAt = performance.now();
    const start = this.#options.startExecutor ?? ((index, hostCalls) => new Executor(index, hostCalls, this.#options.outboundRoutes ?? {}));
    const executor = start(slot.index, (request, id) => this.#hostCall(request, id));
    executor.once("exit", (reason) => this.#onExecutorExit(slot, executor, reason));
    executor.on("returned", (id, lastUsedAt) => this.#onReturned(id, lastUsedAt));
    executor.on("lost", (id) => this.#onLost(id));
    executor.on("records", (logs, invocations) => this.#options.onRecords?.(logs, invocations));
    if (this.#routing !== undefined) executor.route(this.#routing);
    const listen = this.#listen;
    if (listen !== undefined) {
      // A replacement accepts connections as the one it replaces did.
      executor.listen(listen).catch((error: unknown) => this.#options.onEvent?.({ kind: "executor-lost", index: slot.index, reason: `its replacement cannot accept connections: ${(error as Error).message}`, instancesLost: 0 }));
    }
    return executor;
  }

  /** A guest's call to the host, with its function as the host knows it (never as the guest says). */
  #hostCall(request: HostCallRequest, id: number): Promise<unknown> {
    const instance = this.#instances.get(id);
    if (instance === undefined) return Promise.reject("the instance is gone");
    const handler = this.#options.hostCalls;
    if (handler === undefined) return Promise.reject("this host takes no calls from functions");
    return handler(request, { functionName: instance.pool.name, config: instance.pool.config });
  }

  /** Removes an instance and tells its executor to free it. */
  #destroy(instance: Instance): void {
    if (!instance.pool.instances.has(instance)) return;
    this.#forget(instance);
    instance.slot.executor.destroyInstance(instance.id);
  }

  /** Removes an instance from the books only (its executor is gone or will be). */
  #forget(instance: Instance): void {
    if (instance.pool.instances.delete(instance)) this.#instanceCount--;
    this.#instances.delete(instance.id);
    instance.slot.instances.delete(instance);
  }

  #sweepIdle(): void {
    const cutoff = Date.now() - this.#options.idleTimeoutMs;
    for (const pool of this.#pools) {
      const idle = pool.idleInstances().sort((a, b) => a.lastUsedAt - b.lastUsedAt);
      let surplus = pool.instances.size - pool.warmTarget;
      for (const instance of idle) {
        if (surplus <= 0 || instance.lastUsedAt > cutoff) break;
        this.#destroy(instance);
        surplus--;
        this.#options.onEvent?.({ kind: "evicted", functionName: pool.name, reason: "idle" });
      }
    }
  }

  #afterWork(): void {
    this.#pump();
    this.#notifyIdle();
  }

  #notifyIdle(): void {
    const waiters = this.#idleWaiters;
    this.#idleWaiters = [];
    for (const waiter of waiters) waiter();
  }
}

