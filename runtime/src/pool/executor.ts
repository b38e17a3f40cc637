// The host's side of one executor: a worker thread, the messages to it,
// and the moment it dies. Policy (what runs where, when) is the scheduler's.
import { EventEmitter } from "node:events";
import type { EventLoopUtilization } from "node:perf_hooks";
import { Worker, type Transferable, type WorkerOptions } from "node:worker_threads";
import type { ContextRecord, EventValue } from "@wfn/sdk/abi";
import { WfnError } from "../errors.js";
import type { CallResult } from "../sandbox/instance.js";
import { computingFor, computingInstance, interruptMemory, requestInterrupt, requestYield, SLICE_MS } from "../sandbox/interrupt.js";
import { ownsBuffer, type FromExecutor, type HostCallRequest, type InstanceSettings, type LoadableComponent, type ToExecutor } from "./protocol.js";

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
export type ExecutorHandle = Pick<Executor, "index" | "alive" | "busy" | "createInstance" | "call" | "destroyInstance" | "abandon" | "interrupt" | "unload" | "terminate" | "on" | "off" | "once">;

export class Executor extends EventEmitter<{ exit: [WfnError]; abandoned: [number] }> {
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
  /** The function of each instance here, by its number. */
  readonly #functionOf = new Map<number, string>();

  constructor(index: number, hostCalls: HostCallHandler) {
    super();
    this.index = index;
    this.#hostCalls = hostCalls;
    const flags = interruptMemory();
    this.#flags = new Int32Array(flags.buffer);
    this.#worker = startWorker(WORKER_URL, { name: `wfn-executor-${index}`, workerData: { flags } });
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
    if (this.#calls++ === 0) this.#watchComputing();
    try {
      const reply = this.#request({ op: "call", id: 0, instance, event, context }, transfer);
      this.#yieldToNewCall(instance);
      return ((await reply) as Extract<FromExecutor, { op: "result" }>).result;
    } finally {
      if (--this.#calls === 0) clearInterval(this.#watch);
    }
  }

  /**
   * Every slice while calls run here: when a guest has been computing for a
   * slice, ask it to give the thread back, so that the other calls on it go
   * on (sandbox/interrupt.ts).
   */
  #watchComputing(): void {
    this.#watch = setInterval(() => {
      if (computingFor(this.#flags) >= SLICE_MS) requestYield(this.#flags);
    }, SLICE_MS);
    this.#watch.unref();
  }

  /**
   * A call was sent here for `instance`: a guest of another function
   * computing here gives the thread back now rather than at the end of its
   * slice. Calls of the same function wait for the slice: between equals a
   * yield changes nothing but costs a turn of the event loop.
   */
  #yieldToNewCall(instance: number): void {
    if (computingFor(this.#flags) < 0) return;
    const computing = this.#functionOf.get(computingInstance(this.#flags));
    if (computing !== this.#functionOf.get(instance)) requestYield(this.#flags);
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
    clearInterval(this.#watch);
    for (const pending of this.#pending.values()) pending.reject(error);
    this.#pending.clear();
    this.emit("exit", error);
  }
}
