// The host's outbound-HTTP thread: started once, shared by every executor
// through its own MessageChannel and wake-up counter.
import { MessageChannel, type Transferable, type Worker } from "node:worker_threads";
import { startWorker } from "../pool/executor.js";
import type { ExecutorInit } from "../pool/protocol.js";

const WORKER_URL = new URL("./io-worker.js", import.meta.url);

export class OutboundThread {
  #worker: Worker | undefined;
  #closed = false;

  /** What an executor needs to reach this thread: give `init` as its workerData, with `transfer`. */
  connect(): { init: ExecutorInit; transfer: Transferable[] } {
    const worker = this.#start();
    const { port1, port2 } = new MessageChannel();
    const signal = new SharedArrayBuffer(4);
    worker.postMessage({ op: "attach", port: port2, signal }, [port2]);
    return { init: { outbound: { port: port1, signal } }, transfer: [port1] };
  }

  async close(): Promise<void> {
    this.#closed = true;
    await this.#worker?.terminate();
  }

  #start(): Worker {
    if (this.#worker !== undefined) return this.#worker;
    const worker = startWorker(WORKER_URL, { name: "wfn-outbound" });
    worker.unref();
    worker.on("exit", () => {
      // Executors connected to it will see their requests time out; new ones get a new thread.
      if (this.#worker === worker) this.#worker = undefined;
    });
    worker.on("error", () => {});
    this.#worker = worker;
    void this.#closed;
    return worker;
  }
}
