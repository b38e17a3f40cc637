// The host's side of executors: starting worker threads, talking to them,
// noticing when one dies, and choosing where a new instance goes.
import { EventEmitter } from "node:events";
import { Worker, type Transferable } from "node:worker_threads";
import type { ContextRecord, EventValue } from "@wfn/sdk/abi";
import type { PreparedComponent } from "../artifact/prepare.js";
import { WfnError } from "../errors.js";
import type { CallResult } from "../sandbox/instance.js";
import { ownsBuffer, type FromExecutor, type InstanceSettings, type ToExecutor } from "./protocol.js";

const WORKER_URL = new URL("./executor-worker.js", import.meta.url);

type Pending = { resolve: (message: FromExecutor) => void; reject: (error: WfnError) => void };

/** One executor thread. */
export class Executor extends EventEmitter<{ exit: [Executor, WfnError] }> {
  readonly index: number;
  readonly #worker: Worker;
  readonly #pending = new Map<number, Pending>();
  readonly #loaded = new Set<string>();
  #nextId = 1;
  #dead: WfnError | undefined;
  /** Instances living here, by component hash (for placement). */
  readonly instancesByComponent = new Map<string, number>();
  instanceCount = 0;

  constructor(index: number) {
    super();
    this.index = index;
    this.#worker = new Worker(WORKER_URL, { name: `wfn-executor-${index}` });
    this.#worker.on("message", (message: FromExecutor) => this.#settle(message));
    this.#worker.on("error", (error) => this.#die(new WfnError("WFN_EXECUTOR_FAILED", `executor ${index} failed: ${error.message}`, { cause: error })));
    this.#worker.on("exit", (code) => this.#die(new WfnError("WFN_EXECUTOR_FAILED", `executor ${index} exited (code ${code})`)));
  }

  get alive(): boolean {
    return this.#dead === undefined;
  }

  /** Creates an instance of a component here; resolves with its initialisation time in ms. */
  async createInstance(instance: number, component: PreparedComponent, settings: InstanceSettings): Promise<number> {
    if (!this.#loaded.has(component.sha256)) {
      this.#loaded.add(component.sha256);
      this.#send({ op: "load", component: component.sha256, glueUrl: component.glueUrl, modules: [...component.modules] });
    }
    const reply = await this.#request({ op: "create", id: 0, instance, component: component.sha256, settings });
    if (reply.op === "failed") throw new WfnError("WFN_FUNCTION_UNAVAILABLE", `cannot create an instance: ${reply.message}`);
    if (reply.op !== "created") throw new WfnError("WFN_INTERNAL", `unexpected executor reply ${reply.op}`);
    this.#count(component.sha256, +1);
    return reply.initMs;
  }

  async call(instance: number, event: EventValue, context: ContextRecord): Promise<CallResult> {
    const transfer = event.tag === "http" && ownsBuffer(event.val.body) ? [event.val.body.buffer as ArrayBuffer] : [];
    const reply = await this.#request({ op: "call", id: 0, instance, event, context }, transfer);
    if (reply.op === "failed") throw new WfnError("WFN_INTERNAL", reply.message);
    if (reply.op !== "result") throw new WfnError("WFN_INTERNAL", `unexpected executor reply ${reply.op}`);
    return reply.result;
  }

  destroyInstance(instance: number, component: string): void {
    this.#count(component, -1);
    if (this.alive) this.#send({ op: "destroy", instance });
  }

  /** Forgets a component once no instance of it is left here. */
  unload(component: string): void {
    if (this.#loaded.delete(component) && this.alive) this.#send({ op: "unload", component });
  }

  async terminate(): Promise<void> {
    this.#die(new WfnError("WFN_SHUTTING_DOWN", "the executor was stopped"));
    await this.#worker.terminate();
  }

  #count(component: string, delta: number): void {
    this.instanceCount += delta;
    const next = (this.instancesByComponent.get(component) ?? 0) + delta;
    if (next > 0) this.instancesByComponent.set(component, next);
    else this.instancesByComponent.delete(component);
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

  #settle(message: FromExecutor): void {
    const pending = this.#pending.get(message.id);
    if (pending === undefined) return;
    this.#pending.delete(message.id);
    pending.resolve(message);
  }

  #die(error: WfnError): void {
    if (this.#dead) return;
    this.#dead = error;
    for (const pending of this.#pending.values()) pending.reject(error);
    this.#pending.clear();
    this.emit("exit", this, error);
  }
}

/** The host's executors; replaces any that die. */
export class ExecutorSet {
  readonly #executors: Executor[] = [];
  #closed = false;

  constructor(count: number) {
    for (let i = 0; i < count; i++) this.#executors.push(this.#start(i));
  }

  get size(): number {
    return this.#executors.length;
  }

  /** The executor a new instance of `component` should go to: fewest of its kind, then fewest overall. */
  place(component: string): Executor {
    let best: Executor | undefined;
    for (const executor of this.#executors) {
      if (!executor.alive) continue;
      if (
        best === undefined ||
        (executor.instancesByComponent.get(component) ?? 0) < (best.instancesByComponent.get(component) ?? 0) ||
        ((executor.instancesByComponent.get(component) ?? 0) === (best.instancesByComponent.get(component) ?? 0) &&
          executor.instanceCount < best.instanceCount)
      ) {
        best = executor;
      }
    }
    if (best === undefined) throw new WfnError("WFN_EXECUTOR_FAILED", "no executor is running");
    return best;
  }

  unload(component: string): void {
    for (const executor of this.#executors) {
      if (!executor.instancesByComponent.has(component)) executor.unload(component);
    }
  }

  async close(): Promise<void> {
    this.#closed = true;
    await Promise.all(this.#executors.map((executor) => executor.terminate()));
  }

  #start(index: number): Executor {
    const executor = new Executor(index);
    executor.on("exit", (dead) => {
      if (this.#closed) return;
      const at = this.#executors.indexOf(dead);
      if (at >= 0) this.#executors[at] = this.#start(index);
    });
    return executor;
  }
}
