// wfn:function/outbound — outbound HTTP as one call, for guests whose engine
// has no wasi:http client of its own (QuickJS; the SDK's fetch() calls it).
// The same allow-list, limits, transport and log lines as wasi:http
// (./http.ts, ../../outbound/client.ts); the instance is suspended while the
// request is in flight. Refusals and failures are the call's error: a
// sentence, which the SDK throws as a TypeError.
import { denialReason, isOutboundAllowed, parseOutboundRules } from "../../outbound/policy.js";
import { perform } from "../../outbound/transport.js";
import type { OutboundOptions } from "../../outbound/client.js";
import { resuming } from "../interrupt.js";

/** The interface, and its one suspending function (for the transpiler's asyncImports). */
export const OUTBOUND_INTERFACE = "wfn:function/outbound";
export const OUTBOUND_SUSPENDING = [`${OUTBOUND_INTERFACE}#fetch`];

interface OutboundRequestRecord {
  method: string;
  url: string;
  headers: Array<[string, string]>;
  body: Uint8Array;
}

interface HttpResponseRecord {
  status: number;
  headers: Array<[string, string]>;
  body: Uint8Array;
}

export function outboundFetchImports(options: OutboundOptions): Record<string, object> {
  const rules = parseOutboundRules(options.allowedHosts);
  const refuse = (sentence: string): Promise<never> => {
    options.logs.log("warn", sentence);
    return Promise.reject(sentence);
  };
  const send = async (request: OutboundRequestRecord): Promise<HttpResponseRecord> => {
    let url: URL;
    try {
      url = new URL(request.url);
    } catch {
      return refuse(`outbound request to ${JSON.stringify(request.url)} failed: not an absolute URL`);
    }
    if (url.protocol !== "http:" && url.protocol !== "https:") return refuse(`outbound request to ${url.href} failed: only http and https URLs can be fetched`);
    if (!options.enabled || !isOutboundAllowed(url, rules)) return refuse(denialReason(url, options.functionName));
    const what = `${request.method} ${url.origin}${url.pathname}`;
    if (request.body.byteLength > options.maxRequestBodyBytes) {
      return refuse(`outbound request ${what} failed: request body larger than maxOutboundRequestBytes = ${options.maxRequestBodyBytes} bytes`);
    }
    const reply = await perform({
      functionName: options.functionName,
      method: request.method,
      url: url.href,
      headers: request.headers,
      body: request.body,
      timeoutMs: Math.max(1, options.remainingMs()),
      maxResponseBytes: options.maxResponseBytes,
    });
    if ("error" in reply) return refuse(`outbound request ${what} failed: ${reply.reason}`);
    return reply;
  };
  return { [OUTBOUND_INTERFACE]: { fetch: (request: OutboundRequestRecord) => resuming(send(request), options.state) } };
}
