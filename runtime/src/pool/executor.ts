// The host's side of one executor: a worker thread, the messages to it,
// and the moment it dies. Policy (what runs where, when) is the scheduler's.
import { EventEmitter } from "node:events";
import type { EventLoopUtilization } from "node:perf_hooks";
import { Worker, type Transferable, type WorkerOptions } from "node:worker_threads";
import type { ContextRecord, EventValue } from "@wfn/sdk/abi";
import { WfnError } from "../errors.js";
import type { CallResult } from "../sandbox/instance.js";
import type { LogRecord } from "../observe/log.js";
import type { InvocationSummary } from "../observe/telemetry.js";
import { computingFor, computingInstance, INTERRUPT_FLAGS, interruptMemory, requestInterrupt, requestYield, SLICE_MS } from "../sandbox/interrupt.js";
import { ownsBuffer, type FromExecutor, type HostCallRequest, type InstanceSettings, type ListenSettings, type LoadableComponent, type RoutingSnapshot, type ToExecutor } from "./protocol.js";

const WORKER_URL = new URL("./executor-worker.js", import.meta.url);

type Pending = { resolve: (message: FromExecutor) => void; reject: (error: WfnError) => void };

/** Answers a guest's call to the host for instance `instance`: resolves with the value the guest gets, or rejects with its error. */
export type HostCallHandler = (request: HostCallRequest, instance: number) => Promise<unknown>;

/**
 * Starts a worker with the host process's Node flags (minus those that only
 * make sense for a main script); if Node refuses them for a worker, with none.
 */
export function startWorker(url: URL, options: WorkerOptions): Worker {
  const execArgv = process.execArgv.filter((arg) => !/^--(input-type|eval|print|entry-url|experimental-default-type)\b/.test(arg) && arg !== "-e" && arg !== "-p");
  try {
    return new Worker(url, { ...options, execArgv });
  } catch (error) {
    if ((error as { code?: string }).code !== "ERR_WORKER_INVALID_EXEC_ARGV") throw error;
    return new Worker(url, { ...options, execArgv: [] });
  }
}

/**
 * One executor thread. It runs many calls at once (their instances are
 * suspended while they wait on the host); each call is a message one way and
 * its result a message back. Emits `exit` once, with the reason, however the
 * thread ends.
 */
/** The shortest window {@link Executor.busy} is measured over, in ms. */
const BUSY_WINDOW_MS = 50;

/** What the scheduler uses of an executor (a fake one stands in for it in unit tests). */
export type ExecutorHandle = Pick<
  Executor,
  "index" | "alive" | "busy" | "createInstance" | "call" | "destroyInstance" | "abandon" | "interrupt" | "unload" | "terminate" | "lend" | "recall" | "listen" | "unlisten" | "quiesce" | "route" | "on" | "off" | "once"
>;

/** What an executor tells its scheduler. */
export interface ExecutorEvents {
  exit: [WfnError];
  abandoned: [number];
  /** A lent instance came back: its number, and when it last ran (epoch ms). */
  returned: [number, number];
  /** A lent instance is gone. */
  lost: [number];
  /** Logs and summaries of invocations the executor ran itself. */
  records: [LogRecord[], InvocationSummary[]];
}

/** How long the time-slice watch keeps running after the last call here ended, in ms (it then waits for the next one without a timer). */
const WATCH_LINGER_MS = 1000;

export class Executor extends EventEmitter<ExecutorEvents> {
  readonly index: number;
  readonly #worker: Worker;
  readonly #pending = new Map<number, Pending>();
  readonly #loaded = new Set<string>();
  readonly #hostCalls: HostCallHandler;
  /** The executor's interrupt memory, as words (see sandbox/interrupt.ts). */
  readonly #flags: Int32Array;
  #nextId = 1;
  #dead: WfnError | undefined;
  /** Calls in flight here, and the watch on its computing guest while there are any. */
  #calls = 0;
  #watch: NodeJS.Timeout | undefined;
  /** Slices in a row the watch saw no call here. */
  #quiet = 0;
  /** Whether the executor accepts HTTP connections (it then runs calls the main thread does not see). */
  #listening = false;
  /** The function of each instance here, by its number. */
  readonly #functionOf = new Map<number, string>();

  constructor(index: number, hostCalls: HostCallHandler, outboundRoutes: Record<string, string> = {}) {
    super();
    this.index = index;
    this.#hostCalls = hostCalls;
    const flags = interruptMemory();
    this.#flags = new Int32Array(flags.buffer);
    this.#worker = startWorker(WORKER_URL, { name: `wfn-executor-${index}`, workerData: { flags, index, outboundRoutes } });
    this.#worker.on("message", (message: FromExecutor) => this.#receive(message));
    this.#worker.on("error", (error) => this.#die(new WfnError("WFN_EXECUTOR_FAILED", `executor ${index} failed: ${error.message}`, { cause: error })));
    this.#worker.on("exit", (code) => this.#die(new WfnError("WFN_EXECUTOR_FAILED", `executor ${index} exited (code ${code})`)));
  }

  get alive(): boolean {
    return this.#dead === undefined;
  }

  #busySample: EventLoopUtilization | undefined;
  #busySampledAt = 0;
  #busy = 0;

  /**
   * The share of time (0..1) the executor's event loop was busy, over the
   * last window of at least {@link BUSY_WINDOW_MS} (computing guests,
   * creating instances): near 1, more instances here add no throughput.
   */
  get busy(): number {
    this.#sampleBusy();
    return this.#busy;
  }

  #sampleBusy(): void {
    const now = performance.now();
    if (this.#dead !== undefined || now - this.#busySampledAt < BUSY_WINDOW_MS) return;
    const sample = this.#worker.performance.eventLoopUtilization();
    this.#busy = (this.#busySample === undefined ? sample : this.#worker.performance.eventLoopUtilization(sample, this.#busySample)).utilization;
    this.#busySample = sample;
    this.#busySampledAt = now;
  }

  /** Creates an instance of a component here; resolves with its initialisation time in ms. */
  async createInstance(instance: number, component: LoadableComponent, settings: InstanceSettings): Promise<number> {
    if (!this.#loaded.has(component.key)) {
      this.#loaded.add(component.key);
      this.#send({ op: "load", component });
    }
    this.#functionOf.set(instance, settings.functionName);
    const reply = await this.#request({ op: "create", id: 0, instance, component: component.key, settings });
    if (reply.op === "failed") {
      this.#functionOf.delete(instance);
      throw new WfnError("WFN_FUNCTION_UNAVAILABLE", `cannot create an instance: ${reply.message}`);
    }
    return (reply as Extract<FromExecutor, { op: "created" }>).initMs;
  }

  /** Runs one call on an instance (the scheduler never runs two on one instance at once). */
  async call(instance: number, event: EventValue, context: ContextRecord): Promise<CallResult> {
    const transfer = event.tag === "http" && ownsBuffer(event.val.body) ? [event.val.body.buffer as ArrayBuffer] : [];
    this.#calls++;
    this.#watchComputing();
    try {
      const reply = this.#request({ op: "call", id: 0, instance, event, context }, transfer);
      this.#yieldToNewCall(instance);
      return ((await reply) as Extract<FromExecutor, { op: "result" }>).result;
    } finally {
      if (--this.#calls === 0 && !this.#listening) this.#stopWatch();
    }
  }

  /**
   * Every slice while calls run here (those the main thread sent, and those
   * the executor runs itself when it accepts HTTP): when a guest has been
   * computing for a slice, ask it to give the thread back, so that the other
   * calls on it go on (sandbox/interrupt.ts). A guest past its deadline stops
   * itself at that check, whoever started its call.
   */
  #watchComputing(): void {
    if (this.#watch !== undefined || this.#dead !== undefined) return;
    this.#quiet = 0;
    this.#watch = setInterval(() => {
      if (computingFor(this.#flags) >= SLICE_MS) requestYield(this.#flags, computingInstance(this.#flags));
      if (this.#calls > 0 || Atomics.load(this.#flags, INTERRUPT_FLAGS.LOCAL_CALLS) > 0) this.#quiet = 0;
      else if (++this.#quiet * SLICE_MS >= WATCH_LINGER_MS) {
        this.#stopWatch();
        this.#awaitLocalCall();
      }
    }, SLICE_MS);
    this.#watch.unref();
  }

  #stopWatch(): void {
    clearInterval(this.#watch);
    this.#watch = undefined;
  }

  /** Starts the watch when the executor starts a call of its own (it notifies the counter's word): no timer meanwhile. */
  #awaitLocalCall(): void {
    if (!this.#listening || this.#dead !== undefined || this.#watch !== undefined) return;
    const wait = Atomics.waitAsync(this.#flags, INTERRUPT_FLAGS.LOCAL_CALLS, 0);
    if (!wait.async) this.#watchComputing();
    else void wait.value.then(() => (this.#listening ? this.#watchComputing() : undefined));
  }

  /** Lends an idle instance to the executor, which runs routed requests on it until {@link recall}. */
  lend(instance: number, pool: string, idleTimeoutMs: number, running: Int32Array, queue: Int32Array): void {
    if (this.alive) this.#send({ op: "lend", instance, pool, idleTimeoutMs, running: running.buffer as SharedArrayBuffer, queue: queue.buffer as SharedArrayBuffer });
  }

  /** Asks for a lent instance back; `returned` is emitted when it is (after its running request). */
  recall(instance: number): void {
    if (this.alive) this.#send({ op: "recall", instance });
  }

  /** Sends the routing the executor follows for the requests it serves. */
  route(snapshot: RoutingSnapshot): void {
    if (this.alive) this.#send({ op: "routing", snapshot });
  }

  /** Has the executor accept HTTP connections; resolves with the port it listens on. */
  async listen(settings: ListenSettings): Promise<number> {
    const reply = await this.#request({ op: "listen", id: 0, settings });
    if (reply.op === "listen-failed") throw Object.assign(new Error(reply.message), { code: reply.code });
    this.#listening = true;
    this.#awaitLocalCall();
    return (reply as Extract<FromExecutor, { op: "listening" }>).port;
  }

  /** Stops accepting connections (those open finish their requests). */
  unlisten(): void {
    this.#listening = false;
    if (!this.alive) return;
    this.#send({ op: "unlisten" });
    Atomics.notify(this.#flags, INTERRUPT_FLAGS.LOCAL_CALLS);
  }

  /**
   * Resolves once the connections this executor accepted are all answered
   * and closed (after `waitMs` they are closed by force): the answers they
   * wait for may still be on their way back from the main thread.
   */
  async quiesce(waitMs: number): Promise<void> {
    if (!this.alive) return;
    await this.#request({ op: "quiesce", id: 0, waitMs }).catch(() => {});
  }

  /**
   * A call was sent here for `instance`: a guest of another function
   * computing here gives the thread back now rather than at the end of its
   * slice. Calls of the same function wait for the slice: between equals a
   * yield changes nothing but costs a turn of the event loop.
   */
  #yieldToNewCall(instance: number): void {
    if (computingFor(this.#flags) < 0) return;
    const computingNow = computingInstance(this.#flags);
    if (this.#functionOf.get(computingNow) !== this.#functionOf.get(instance)) requestYield(this.#flags, computingNow);
  }

  /**
   * The instance's invocation timed out: the executor drops it and never
   * resumes it; `abandoned` is emitted once it did. Should the instance be
   * computing, the interrupt request makes it stop itself (it is past its
   * deadline), so that the executor can read the message.
   */
  abandon(instance: number): void {
    this.#functionOf.delete(instance);
    if (!this.alive) return;
    this.#send({ op: "abandon", instance });
    requestInterrupt(this.#flags);
  }

  /** Asks a guest computing on this executor to look at its deadline again. */
  interrupt(): void {
    requestInterrupt(this.#flags);
  }

  destroyInstance(instance: number): void {
    this.#functionOf.delete(instance);
    if (this.alive) this.#send({ op: "destroy", instance });
  }

  /** Forgets a component (no instance of it is left here). */
  unload(key: string): void {
    if (this.#loaded.delete(key) && this.alive) this.#send({ op: "unload", component: key });
  }

  /** Stops the thread at once, whatever it is doing; `reason` is what in-flight requests are failed with. */
  async terminate(reason: WfnError): Promise<void> {
    this.#die(reason);
    await this.#worker.terminate();
  }

  #send(message: ToExecutor, transfer: Transferable[] = []): void {
    this.#worker.postMessage(message, transfer);
  }

  #request(message: ToExecutor & { id: number }, transfer: Transferable[] = []): Promise<FromExecutor> {
    if (this.#dead) return Promise.reject(this.#dead);
    const id = this.#nextId++;
    message.id = id;
    return new Promise((resolve, reject) => {
      this.#pending.set(id, { resolve, reject });
      this.#send(message, transfer);
    });
  }

  #receive(message: FromExecutor): void {
    switch (message.op) {
      case "abandoned":
        this.emit("abandoned", message.instance);
        return;
      case "returned":
        this.emit("returned", message.instance, message.lastUsedAt);
        return;
      case "lost":
        this.emit("lost", message.instance);
        return;
      case "records":
        this.emit("records", message.logs, message.invocations);
        return;
      case "host-call":
        this.#hostCalls(message.request, message.instance).then(
          (value) => this.alive && this.#send({ op: "host-reply", id: message.id, value }),
          (error: unknown) => this.alive && this.#send({ op: "host-reply", id: message.id, error: error instanceof Error ? error.message : String(error) }),
        );
        return;
      default: {
        const pending = this.#pending.get(message.id);
        if (pending === undefined) return;
        this.#pending.delete(message.id);
        pending.resolve(message);
      }
    }
  }

  #die(error: WfnError): void {
    if (this.#dead) return;
    this.#dead = error;
    this.#stopWatch();
    this.#listening = false;
    Atomics.notify(this.#flags, INTERRUPT_FLAGS.LOCAL_CALLS);
    for (const pending of this.#pending.values()) pending.reject(error);
    this.#pending.clear();
    this.emit("exit", error);
  }
}
