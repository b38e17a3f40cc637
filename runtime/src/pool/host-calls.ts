// Synchronous calls from a guest to the host's main thread (today: sending
// a queue message). The executor is inside a guest call and cannot await, so
// it posts the request and sleeps on a shared counter until the host has
// done the work (durably) and replied.
import { receiveMessageOnPort, type MessagePort } from "node:worker_threads";

export type HostCallRequest = { id: number; op: "send"; queue: string; body: string; attributes: Array<[string, string]> };
export type HostCallReply = { id: number; value: string } | { id: number; error: string };

/** How long a guest waits for the host before the call fails. */
const REPLY_TIMEOUT_MS = 30_000;

/** The executor's side. */
export class HostCallClient {
  readonly #port: MessagePort;
  readonly #signal: Int32Array;
  #nextId = 1;

  constructor(port: MessagePort, signal: SharedArrayBuffer) {
    this.#port = port;
    this.#signal = new Int32Array(signal);
  }

  /** Sends a queue message; returns its id, or throws a string (the guest sees it as the call's error). */
  sendMessage(queue: string, body: string, attributes: Array<[string, string]>): string {
    const reply = this.#call({ id: this.#nextId++, op: "send", queue, body, attributes });
    if ("error" in reply) throw reply.error;
    return reply.value;
  }

  #call(request: HostCallRequest): HostCallReply {
    this.#port.postMessage(request);
    const deadline = Date.now() + REPLY_TIMEOUT_MS;
    for (;;) {
      const seen = Atomics.load(this.#signal, 0);
      for (let message = receiveMessageOnPort(this.#port); message !== undefined; message = receiveMessageOnPort(this.#port)) {
        const reply = message.message as HostCallReply;
        if (reply.id === request.id) return reply;
      }
      const left = deadline - Date.now();
      if (left <= 0) return { id: request.id, error: "the host did not answer in time" };
      Atomics.wait(this.#signal, 0, seen, left);
    }
  }
}

/** The host's side: answers one executor's calls with `handle`. */
export function serveHostCalls(port: MessagePort, signal: SharedArrayBuffer, handle: (request: HostCallRequest) => Promise<string>): void {
  const counter = new Int32Array(signal);
  port.on("message", (request: HostCallRequest) => {
    void handle(request).then(
      (value): HostCallReply => ({ id: request.id, value }),
      (error: unknown): HostCallReply => ({ id: request.id, error: error instanceof Error ? error.message : String(error) }),
    ).then((reply) => {
      try {
        port.postMessage(reply);
      } catch {
        return; // the executor is gone
      }
      Atomics.add(counter, 0, 1);
      Atomics.notify(counter, 0);
    });
  });
  port.unref();
}
