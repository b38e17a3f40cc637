// The outbound-HTTP thread: performs the requests guests make with fetch(),
// with undici and one connection pool per function, for every executor.
// Executors block on a shared counter while they wait; each reply bumps it.
import { parentPort, type MessagePort } from "node:worker_threads";
import { Agent, errors } from "undici";
import type { HttpErrorCode } from "../sandbox/capabilities/http.js";
import { ownsBuffer } from "../pool/protocol.js";
import { GUEST_REQUEST_HEADER, type OutboundReply, type OutboundRequest } from "./protocol.js";

const agents = new Map<string, Agent>();

function agentFor(pool: string): Agent {
  let agent = agents.get(pool);
  if (agent === undefined) {
    agent = new Agent({ connections: 32, keepAliveTimeout: 10_000, connect: { timeout: 10_000 } });
    agents.set(pool, agent);
  }
  return agent;
}

/** Headers a guest may not set on an outbound request (the connection is the host's). */
const HOP_BY_HOP = new Set(["connection", "keep-alive", "transfer-encoding", "upgrade", "proxy-connection", "host", "content-length"]);

async function perform(request: OutboundRequest): Promise<OutboundReply> {
  const url = new URL(request.url);
  const headers: Record<string, string | string[]> = {};
  for (const [name, value] of request.headers) {
    if (HOP_BY_HOP.has(name) || name === GUEST_REQUEST_HEADER) continue;
    const existing = headers[name];
    headers[name] = existing === undefined ? value : ([] as string[]).concat(existing, value);
  }
  headers[GUEST_REQUEST_HEADER] = request.pool;
  const signal = AbortSignal.timeout(request.timeoutMs);
  try {
    const response = await agentFor(request.pool).request({
      origin: url.origin,
      path: `${url.pathname}${url.search}`,
      method: request.method,
      headers,
      body: request.body.byteLength > 0 ? request.body : null,
      signal,
    });
    const chunks: Uint8Array[] = [];
    let size = 0;
    for await (const chunk of response.body) {
      size += chunk.byteLength;
      if (size > request.maxResponseBytes) {
        response.body.destroy();
        return { id: request.id, error: { tag: "internal-error", val: `response body over ${request.maxResponseBytes} bytes` } };
      }
      chunks.push(chunk);
    }
    const pairs: Array<[string, string]> = [];
    for (const [name, value] of Object.entries(response.headers)) {
      if (name === "x-wfn-outbound-denied" || value === undefined) continue;
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
    return { id: request.id, error: errorCode(error, signal) };
  }
}

function errorCode(error: unknown, signal: AbortSignal): HttpErrorCode {
  if (signal.aborted) return { tag: "connection-timeout" };
  const code = (error as { code?: string }).code;
  if (error instanceof errors.ConnectTimeoutError || code === "UND_ERR_CONNECT_TIMEOUT") return { tag: "connection-timeout" };
  if (code === "ECONNREFUSED") return { tag: "connection-refused" };
  return { tag: "internal-error", val: error instanceof Error ? error.message : String(error) };
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
