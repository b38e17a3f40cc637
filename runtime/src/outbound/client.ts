// The executor's side of outbound HTTP: checks each request against the
// function's allow-list, sends allowed ones to the outbound thread, and lets
// the guest wait for the reply (blocking this executor only).
import { receiveMessageOnPort, type MessagePort } from "node:worker_threads";
import {
  FutureIncomingResponse,
  IncomingResponse,
  type HttpErrorCode,
  type OutboundHandler,
  type TransportResult,
} from "../sandbox/capabilities/http.js";
import type { LogCollector } from "../sandbox/capabilities/logs.js";
import { denialReason, isOutboundAllowed, parseOutboundRules } from "./policy.js";
import { ownsBuffer } from "../pool/protocol.js";
import { DENIED_HEADER, EXPLAIN_HEADER, FAILED_HEADER, type OutboundReply, type OutboundRequest } from "./protocol.js";

/** One per executor: the channel to the outbound thread. */
export class OutboundChannel {
  readonly #port: MessagePort;
  readonly #signal: Int32Array;
  readonly #replies = new Map<number, OutboundReply>();
  #nextId = 1;

  constructor(port: MessagePort, signal: SharedArrayBuffer) {
    this.#port = port;
    this.#signal = new Int32Array(signal);
  }

  /** Sends a request to the outbound thread; returns its id. */
  post(request: Omit<OutboundRequest, "id">): number {
    const message: OutboundRequest = { id: this.#nextId++, ...request };
    this.#port.postMessage(message, ownsBuffer(message.body) ? [message.body.buffer as ArrayBuffer] : []);
    return message.id;
  }

  /** The reply to request `id` once it has come (handed out once). */
  take(id: number): OutboundReply | undefined {
    this.#drain();
    const reply = this.#replies.get(id);
    if (reply !== undefined) this.#replies.delete(id);
    return reply;
  }

  /** Blocks until the outbound thread replies to something, or `ms` pass. */
  wait(ms: number): void {
    const seen = Atomics.load(this.#signal, 0);
    this.#drain();
    Atomics.wait(this.#signal, 0, seen, ms);
  }

  #drain(): void {
    for (let message = receiveMessageOnPort(this.#port); message !== undefined; message = receiveMessageOnPort(this.#port)) {
      const reply = message.message as OutboundReply;
      this.#replies.set(reply.id, reply);
    }
  }
}

/** Builds an instance's outbound handler: its allow-list, its log, the executor's channel. */
export function outboundHandler(options: {
  functionName: string;
  allowedHosts: readonly string[];
  channel: OutboundChannel | undefined;
  logs: LogCollector;
  maxRequestBodyBytes: number;
  maxResponseBytes: number;
  /** Milliseconds the invocation has left (outbound requests never outlive it). */
  remainingMs: () => number;
}): OutboundHandler {
  const rules = parseOutboundRules(options.allowedHosts);
  const decoder = new TextDecoder();
  return (outgoing) => {
    const target = outgoing.describe();
    let url: URL;
    try {
      url = new URL(target.url);
    } catch {
      outgoing.discardBody();
      return FutureIncomingResponse.settled({ error: { tag: "HTTP-request-URI-invalid" } });
    }
    if (!isOutboundAllowed(url, rules) || options.channel === undefined) {
      // StarlingMonkey writes the body after handing the request over: keep none of it.
      outgoing.discardBody();
      const reason = denialReason(url, options.functionName);
      options.logs.log("warn", reason);
      return FutureIncomingResponse.settled({ ok: syntheticResponse(403, DENIED_HEADER, reason) });
    }
    const channel = options.channel;
    const fail = failure(`${target.method} ${url.origin}${url.pathname}`, target.headers.has(EXPLAIN_HEADER), options.logs);
    let id: number | undefined;
    let result: TransportResult | undefined;
    outgoing.whenComplete(
      () => {
        id = channel.post({
          functionName: options.functionName,
          method: target.method,
          url: url.href,
          headers: target.headers.entries().map(([name, value]): [string, string] => [name, decoder.decode(value)]),
          body: outgoing.bodyBytes(),
          timeoutMs: Math.max(1, options.remainingMs()),
          maxResponseBytes: options.maxResponseBytes,
        });
      },
      () => {
        result = fail(
          { tag: "HTTP-request-body-size", val: undefined },
          `request body larger than maxOutboundRequestBytes = ${options.maxRequestBodyBytes} bytes`,
        );
      },
    );
    return new FutureIncomingResponse(
      () => {
        if (result !== undefined || id === undefined) return result;
        const reply = channel.take(id);
        if (reply === undefined) return undefined;
        return "error" in reply ? fail(reply.error, reply.reason) : { ok: incomingResponse(reply.status, reply.headers, reply.body) };
      },
      (ms) => channel.wait(ms),
    );
  };
}

/**
 * How a failed request settles: a warning in the invocation's log, and either
 * the wasi:http error code or, when the guest asked with {@link EXPLAIN_HEADER}
 * (the SDK's fetch does), a 502 whose {@link FAILED_HEADER} says why.
 */
function failure(what: string, explain: boolean, logs: LogCollector): (code: HttpErrorCode, reason: string) => TransportResult {
  return (code, reason) => {
    const sentence = `outbound request ${what} failed: ${reason}`;
    logs.log("warn", sentence);
    return explain ? { ok: syntheticResponse(502, FAILED_HEADER, sentence) } : { error: code };
  };
}

function syntheticResponse(status: number, header: string, sentence: string): IncomingResponse {
  return incomingResponse(status, [["content-type", "text/plain"], [header, sentence]], new TextEncoder().encode(sentence));
}

function incomingResponse(status: number, headers: Array<[string, string]>, body: Uint8Array): IncomingResponse {
  const encoder = new TextEncoder();
  return new IncomingResponse(status, headers.map(([name, value]) => [name, encoder.encode(value)]), body);
}
