// The executor's side of outbound HTTP: checks each request against the
// function's allow-list and performs the allowed ones (./transport.ts) while
// the guest's instance is suspended, waiting for the reply.
import { FutureIncomingResponse, IncomingResponse, type HttpErrorCode, type OutboundHandler, type TransportResult } from "../sandbox/capabilities/http.js";
import type { WaitState } from "../sandbox/call-state.js";
import type { LogCollector } from "../sandbox/capabilities/logs.js";
import { denialReason, isOutboundAllowed, parseOutboundRules } from "./policy.js";
import { DENIED_HEADER, EXPLAIN_HEADER, FAILED_HEADER } from "./protocol.js";
import { perform } from "./transport.js";

/** What an instance's outbound requests are checked against and limited by (wasi:http and wfn:function/outbound alike). */
export interface OutboundOptions {
  functionName: string;
  allowedHosts: readonly string[];
  /** Whether requests may leave at all (false: every one is refused). */
  enabled: boolean;
  logs: LogCollector;
  maxRequestBodyBytes: number;
  maxResponseBytes: number;
  /** Milliseconds the invocation has left (outbound requests never outlive it). */
  remainingMs: () => number;
  /** The instance's wait state: its pending requests settle into nothing once it is abandoned. */
  state: WaitState;
}

/** Builds an instance's outbound handler: its allow-list, its log, its limits. */
export function outboundHandler(options: OutboundOptions): OutboundHandler {
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
    if (!options.enabled || !isOutboundAllowed(url, rules)) {
      // StarlingMonkey writes the body after handing the request over: keep none of it.
      outgoing.discardBody();
      const reason = denialReason(url, options.functionName);
      options.logs.log("warn", reason);
      // The SDK's fetch asks for a response it can turn into a TypeError that
      // says why; any other guest gets the standard error code.
      const explain = target.headers.has(EXPLAIN_HEADER);
      return FutureIncomingResponse.settled(explain ? { ok: syntheticResponse(403, DENIED_HEADER, reason) } : { error: { tag: "HTTP-request-denied" } });
    }
    const fail = failure(`${target.method} ${url.origin}${url.pathname}`, target.headers.has(EXPLAIN_HEADER), options.logs);
    const settled = new Promise<TransportResult>((resolve) => {
      outgoing.whenComplete(
        () => {
          void perform({
            functionName: options.functionName,
            method: target.method,
            url: url.href,
            headers: target.headers.entries().map(([name, value]): [string, string] => [name, decoder.decode(value)]),
            body: outgoing.bodyBytes(),
            timeoutMs: Math.max(1, options.remainingMs()),
            maxResponseBytes: options.maxResponseBytes,
          }).then((reply) => resolve("error" in reply ? fail(reply.error, reply.reason) : { ok: incomingResponse(reply.status, reply.headers, reply.body) }));
        },
        () => resolve(fail({ tag: "HTTP-request-body-size", val: undefined }, `request body larger than maxOutboundRequestBytes = ${options.maxRequestBodyBytes} bytes`)),
      );
    });
    return new FutureIncomingResponse(settled, options.state);
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
