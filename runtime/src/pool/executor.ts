// The host's side of one executor: a worker thread, the messages to it,
// and the moment it dies. Policy (what runs where, when) is the scheduler's.
import { EventEmitter } from "node:events";
import { MessageChannel, receiveMessageOnPort, Worker, type MessagePort, type Transferable, type WorkerOptions } from "node:worker_threads";
import type { ContextRecord, EventValue } from "@wfn/sdk/abi";
import { WfnError } from "../errors.js";
import type { CallResult } from "../sandbox/instance.js";
import { Overflow, readResult, Reader, Writer, writeCall } from "./codec.js";
import { CHANNEL, ownsBuffer, type ExecutorInit, type FromExecutor, type InstanceSettings, type LoadableComponent, type ToExecutor } from "./protocol.js";

const WORKER_URL = new URL("./executor-worker.js", import.meta.url);
/** How long the host polls for a call's result before sleeping on it. */
const RESULT_SPIN_MS = 1;

type Pending = { resolve: (message: FromExecutor) => void; reject: (error: WfnError) => void };

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
 * One executor thread. Calls go through memory shared with the thread (see
 * CHANNEL): the host writes the encoded call and rings the doorbell, the
 * executor writes the result and bumps a counter the host waits on.
 * Emits `exit` once, with the reason, however the thread ends.
 */
export class Executor extends EventEmitter<{ exit: [WfnError] }> {
  readonly index: number;
  readonly #worker: Worker;
  readonly #pending = new Map<number, Pending>();
  readonly #loaded = new Set<string>();
  readonly #header: Int32Array;
  readonly #data: Uint8Array;
  readonly #control: MessagePort;
  readonly #results: MessagePort;
  readonly #death: Promise<void>;
  #markDead!: () => void;
  #nextId = 1;
  #dead: WfnError | undefined;

  constructor(index: number, init: ExecutorInit, transfer: Transferable[] = []) {
    super();
    this.index = index;
    const shared = new SharedArrayBuffer(CHANNEL.HEADER_BYTES + CHANNEL.DATA_BYTES);
    this.#header = new Int32Array(shared, 0, CHANNEL.HEADER_BYTES / 4);
    this.#data = new Uint8Array(shared, CHANNEL.HEADER_BYTES, CHANNEL.DATA_BYTES);
    const control = new MessageChannel();
    const results = new MessageChannel();
    this.#control = control.port1;
    this.#results = results.port1;
    this.#death = new Promise((resolve) => (this.#markDead = resolve));
    this.#worker = startWorker(WORKER_URL, {
      name: `wfn-executor-${index}`,
      workerData: { ...init, channel: { shared, control: control.port2, results: results.port2 } },
      transferList: [...transfer, control.port2, results.port2],
    });
    this.#worker.on("message", (message: FromExecutor) => this.#settle(message));
    this.#worker.on("error", (error) => this.#die(new WfnError("WFN_EXECUTOR_FAILED", `executor ${index} failed: ${error.message}`, { cause: error })));
    this.#worker.on("exit", (code) => this.#die(new WfnError("WFN_EXECUTOR_FAILED", `executor ${index} exited (code ${code})`)));
  }

  get alive(): boolean {
    return this.#dead === undefined;
  }

  /** Creates an instance of a component here; resolves with its initialisation time in ms. */
  async createInstance(instance: number, component: LoadableComponent, settings: InstanceSettings): Promise<number> {
    if (!this.#loaded.has(component.key)) {
      this.#loaded.add(component.key);
      this.#send({ op: "load", component });
    }
    const reply = await this.#request({ op: "create", id: 0, instance, component: component.key, settings });
    if (reply.op === "failed") throw new WfnError("WFN_FUNCTION_UNAVAILABLE", `cannot create an instance: ${reply.message}`);
    return reply.initMs;
  }

  /** Runs one call; the scheduler never sends a second before the first returns. */
  async call(instance: number, event: EventValue, context: ContextRecord): Promise<CallResult> {
    if (this.#dead) throw this.#dead;
    const header = this.#header;
    const seen = Atomics.load(header, CHANNEL.RESULT_SEQ);
    try {
      const writer = new Writer(this.#data);
      writeCall(writer, instance, event, context);
      Atomics.store(header, CHANNEL.REQUEST_LENGTH, writer.offset);
      Atomics.store(header, CHANNEL.CALL, 1);
      this.#ring();
    } catch (error) {
      if (!(error instanceof Overflow)) throw error;
      const transfer = event.tag === "http" && ownsBuffer(event.val.body) ? [event.val.body.buffer as ArrayBuffer] : [];
      this.#send({ op: "call-large", instance, event, context }, transfer);
    }
    await this.#resultAfter(seen);
    if (this.#dead) throw this.#dead;
    if (Atomics.load(header, CHANNEL.RESULT_KIND) === 1) {
      return readResult(new Reader(this.#data.subarray(0, Atomics.load(header, CHANNEL.RESULT_LENGTH))));
    }
    const posted = receiveMessageOnPort(this.#results);
    if (posted === undefined) throw new WfnError("WFN_INTERNAL", "the executor signalled a result that did not arrive");
    return posted.message as CallResult;
  }

  /**
   * Waits until the executor bumps RESULT_SEQ past `seen`. The first
   * RESULT_SPIN_MS are spent polling once per event-loop turn: a thread that
   * sleeps on a futex takes ~100 µs to wake on a small virtual machine, more
   * than a warm call costs. Longer calls are awaited without spinning.
   */
  async #resultAfter(seen: number): Promise<void> {
    const header = this.#header;
    const spinUntil = performance.now() + RESULT_SPIN_MS;
    while (Atomics.load(header, CHANNEL.RESULT_SEQ) === seen && this.#dead === undefined) {
      if (performance.now() < spinUntil) {
        await new Promise<void>((resolve) => setImmediate(resolve));
        continue;
      }
      Atomics.store(header, CHANNEL.HOST_WAITING, 1);
      const waited = Atomics.waitAsync(header, CHANNEL.RESULT_SEQ, seen);
      if (waited.async) await Promise.race([waited.value, this.#death]);
      Atomics.store(header, CHANNEL.HOST_WAITING, 0);
    }
  }

  destroyInstance(instance: number): void {
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
    this.#control.postMessage(message, transfer);
    this.#ring();
  }

  #ring(): void {
    Atomics.add(this.#header, CHANNEL.DOORBELL, 1);
    // The executor sets the flag before it sleeps, and re-checks the doorbell in Atomics.wait: a wake is never lost.
    if (Atomics.load(this.#header, CHANNEL.EXECUTOR_SLEEPING) === 1) Atomics.notify(this.#header, CHANNEL.DOORBELL);
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

  #settle(message: FromExecutor): void {
    const pending = this.#pending.get(message.id);
    if (pending === undefined) return;
    this.#pending.delete(message.id);
    pending.resolve(message);
  }

  #die(error: WfnError): void {
    if (this.#dead) return;
    this.#dead = error;
    this.#markDead();
    this.#control.close();
    this.#results.close();
    for (const pending of this.#pending.values()) pending.reject(error);
    this.#pending.clear();
    this.emit("exit", error);
  }
}
