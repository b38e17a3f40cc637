// The executor's side of outbound HTTP: checks each request against the
// function's allow-list, sends allowed ones to the outbound thread, and lets
// the guest wait for the reply (blocking this executor only).
import { receiveMessageOnPort, type MessagePort } from "node:worker_threads";
import { FutureIncomingResponse, IncomingResponse, type OutboundHandler, type TransportResult } from "../sandbox/capabilities/http.js";
import type { LogCollector } from "../sandbox/capabilities/logs.js";
import { denialReason, isOutboundAllowed, parseOutboundRules } from "./policy.js";
import { ownsBuffer } from "../pool/protocol.js";
import type { OutboundReply, OutboundRequest } from "./protocol.js";

/** Header on the synthetic 403 a denied request gets; the SDK turns it into a thrown TypeError. */
export const DENIED_HEADER = "x-wfn-outbound-denied";

/** One per executor: the channel to the outbound thread. */
export class OutboundChannel {
  readonly #port: MessagePort;
  readonly #signal: Int32Array;
  readonly #replies = new Map<number, TransportResult>();
  #nextId = 1;

  constructor(port: MessagePort, signal: SharedArrayBuffer) {
    this.#port = port;
    this.#signal = new Int32Array(signal);
  }

  /** Sends a request once `whenReady` says it is complete; the future settles with the reply. */
  send(whenReady: (send: () => void) => void, build: () => Omit<OutboundRequest, "id">): FutureIncomingResponse {
    let id: number | undefined;
    whenReady(() => {
      id = this.#nextId++;
      const request: OutboundRequest = { id, ...build() };
      this.#port.postMessage(request, ownsBuffer(request.body) ? [request.body.buffer as ArrayBuffer] : []);
    });
    return new FutureIncomingResponse(
      () => {
        if (id === undefined) return undefined;
        this.#drain();
        const result = this.#replies.get(id);
        if (result !== undefined) this.#replies.delete(id);
        return result;
      },
      (ms) => this.#wait(ms),
    );
  }

  #drain(): void {
    for (let message = receiveMessageOnPort(this.#port); message !== undefined; message = receiveMessageOnPort(this.#port)) {
      const reply = message.message as OutboundReply;
      const encoder = new TextEncoder();
      this.#replies.set(
        reply.id,
        "error" in reply
          ? { error: reply.error }
          : { ok: new IncomingResponse(reply.status, reply.headers.map(([n, v]) => [n, encoder.encode(v)]), reply.body) },
      );
    }
  }

  /** Blocks until the outbound thread replies to something, or `ms` pass. */
  #wait(ms: number): void {
    const seen = Atomics.load(this.#signal, 0);
    this.#drain();
    Atomics.wait(this.#signal, 0, seen, ms);
  }
}

/** Builds an instance's outbound handler: its allow-list, its log, the executor's channel. */
export function outboundHandler(options: {
  functionName: string;
  allowedHosts: readonly string[];
  channel: OutboundChannel | undefined;
  logs: LogCollector;
  maxResponseBytes: number;
  /** Milliseconds the invocation has left (outbound requests never outlive it). */
  remainingMs: () => number;
}): OutboundHandler {
  const rules = parseOutboundRules(options.allowedHosts);
  const decoder = new TextDecoder();
  return (outgoing) => {
    const first = outgoing.describe();
    let url: URL;
    try {
      url = new URL(first.url);
    } catch {
      return FutureIncomingResponse.settled({ error: { tag: "HTTP-request-URI-invalid" } });
    }
    if (!isOutboundAllowed(url, rules) || options.channel === undefined) {
      const reason = denialReason(url, options.functionName);
      options.logs.log("warn", reason);
      const encoder = new TextEncoder();
      return FutureIncomingResponse.settled({
        ok: new IncomingResponse(403, [["content-type", encoder.encode("text/plain")], [DENIED_HEADER, encoder.encode(reason)]], encoder.encode(reason)),
      });
    }
    return options.channel.send(
      (send) => outgoing.whenComplete(send),
      () => {
        const request = outgoing.describe();
        return {
          pool: options.functionName,
          method: request.method,
          url: url.href,
          headers: request.headers.entries().map(([name, value]): [string, string] => [name, decoder.decode(value)]),
          body: request.body,
          timeoutMs: Math.max(1, options.remainingMs()),
          maxResponseBytes: options.maxResponseBytes,
        };
      },
    );
  };
}
