// The outbound-HTTP thread: performs the requests guests make with fetch(),
// with undici and one connection pool per function, for every executor.
// Executors block on a shared counter while they wait; each reply bumps it.
import { parentPort, type MessagePort } from "node:worker_threads";
import { Agent, errors } from "undici";
import type { HttpErrorCode } from "../sandbox/capabilities/http.js";
import { ownsBuffer } from "../pool/protocol.js";
import { DENIED_HEADER, EXPLAIN_HEADER, FAILED_HEADER, GUEST_REQUEST_HEADER, type OutboundReply, type OutboundRequest } from "./protocol.js";

const CONNECT_TIMEOUT_MS = 10_000;
const agents = new Map<string, Agent>();

function agentFor(functionName: string): Agent {
  let agent = agents.get(functionName);
  if (agent === undefined) {
    agent = new Agent({ connections: 32, keepAliveTimeout: 10_000, connect: { timeout: CONNECT_TIMEOUT_MS } });
    agents.set(functionName, agent);
  }
  return agent;
}

/** Headers a guest may not set on an outbound request: the connection's, and the host's own. */
const HOST_OWNED = new Set([
  "connection",
  "keep-alive",
  "transfer-encoding",
  "upgrade",
  "proxy-connection",
  "host",
  "content-length",
  GUEST_REQUEST_HEADER,
  EXPLAIN_HEADER,
]);

/** Response headers only the host may make (an upstream could otherwise fake a denial or failure). */
const HOST_ANSWERS = new Set([DENIED_HEADER, FAILED_HEADER]);

async function perform(request: OutboundRequest): Promise<OutboundReply> {
  const url = new URL(request.url);
  const headers: Record<string, string | string[]> = {};
  for (const [name, value] of request.headers) {
    if (HOST_OWNED.has(name)) continue;
    const existing = headers[name];
    headers[name] = existing === undefined ? value : ([] as string[]).concat(existing, value);
  }
  headers[GUEST_REQUEST_HEADER] = request.functionName;
  const signal = AbortSignal.timeout(request.timeoutMs);
  const tooLarge = (): OutboundReply => ({
    id: request.id,
    error: { tag: "HTTP-response-body-size", val: undefined },
    reason: `response larger than maxOutboundResponseBytes = ${request.maxResponseBytes} bytes`,
  });
  try {
    const response = await agentFor(request.functionName).request({
      origin: url.origin,
      path: `${url.pathname}${url.search}`,
      method: request.method,
      headers,
      body: request.body.byteLength > 0 ? request.body : null,
      signal,
    });
    if (Number(response.headers["content-length"] ?? 0) > request.maxResponseBytes) {
      response.body.destroy();
      return tooLarge();
    }
    const chunks: Uint8Array[] = [];
    let size = 0;
    for await (const chunk of response.body) {
      size += chunk.byteLength;
      if (size > request.maxResponseBytes) {
        response.body.destroy();
        return tooLarge();
      }
      chunks.push(chunk);
    }
    const pairs: Array<[string, string]> = [];
    for (const [name, value] of Object.entries(response.headers)) {
      if (HOST_ANSWERS.has(name) || value === undefined) continue;
      for (const one of ([] as string[]).concat(value)) pairs.push([name, one]);
    }
    // A fresh buffer of its own (not Node's shared pool), so it can be transferred.
    const body = new Uint8Array(size);
    let offset = 0;
    for (const chunk of chunks) {
      body.set(chunk, offset);
      offset += chunk.byteLength;
    }
    return { id: request.id, status: response.statusCode, headers: pairs, body };
  } catch (error) {
    return { id: request.id, ...failure(error, request, signal) };
  }
}

/** The wasi:http error code of a failed request, and the reason in words. */
function failure(error: unknown, request: OutboundRequest, signal: AbortSignal): { error: HttpErrorCode; reason: string } {
  if (signal.aborted) {
    return { error: { tag: "connection-timeout" }, reason: `timed out after ${request.timeoutMs} ms (the time the invocation had left)` };
  }
  const code = errorCodeOf(error);
  if (error instanceof errors.ConnectTimeoutError || code === "UND_ERR_CONNECT_TIMEOUT") {
    return { error: { tag: "connection-timeout" }, reason: `could not connect within ${CONNECT_TIMEOUT_MS} ms` };
  }
  if (code === "ECONNREFUSED") return { error: { tag: "connection-refused" }, reason: "connection refused" };
  if (code === "ENOTFOUND" || code === "EAI_AGAIN") {
    return { error: { tag: "DNS-error", val: { rcode: code, infoCode: undefined } }, reason: `host ${new URL(request.url).hostname} not found` };
  }
  const message = error instanceof Error ? error.message : String(error);
  return { error: { tag: "internal-error", val: message }, reason: message };
}

/** Node's error code, also when connecting to each address of a host failed (an AggregateError). */
function errorCodeOf(error: unknown): string | undefined {
  const { code, errors: causes } = error as { code?: string; errors?: unknown[] };
  return code ?? (causes?.[0] as { code?: string } | undefined)?.code;
}

function attach(port: MessagePort, signal: SharedArrayBuffer): void {
  const counter = new Int32Array(signal);
  port.on("message", (request: OutboundRequest) => {
    void perform(request).then((reply) => {
      const transfer = "body" in reply && ownsBuffer(reply.body) ? [reply.body.buffer as ArrayBuffer] : [];
      try {
        port.postMessage(reply, transfer);
      } catch {
        return; // the executor is gone (its port is closed)
      }
      Atomics.add(counter, 0, 1);
      Atomics.notify(counter, 0);
    });
  });
  port.on("close", () => port.removeAllListeners());
}

parentPort!.on("message", (message: { op: "attach"; port: MessagePort; signal: SharedArrayBuffer }) => {
  if (message.op === "attach") attach(message.port, message.signal);
});
