// Outbound HTTP for the guests of this executor: performs the requests they
// make with fetch(), with undici and one connection pool per function. The
// guest's instance is suspended meanwhile (it awaits the reply), so the
// executor runs other invocations while a request is in flight.
import { Agent, errors } from "undici";
import type { HttpErrorCode } from "../sandbox/capabilities/http.js";
import { DENIED_HEADER, EXPLAIN_HEADER, FAILED_HEADER, GUEST_REQUEST_HEADER, ROUTED_FROM_HEADER, type OutboundReply, type OutboundRequest } from "./protocol.js";

const CONNECT_TIMEOUT_MS = 10_000;
/** Connections one function keeps to one origin, per executor: many invocations wait on the same upstream at once. */
const CONNECTIONS_PER_FUNCTION = 256;
const agents = new Map<string, Agent>();
/** Origins sent elsewhere (HostOptions.outboundRoutes), once the allow-list has passed them. */
let routes = new Map<string, string>();

/** This executor sends requests for each origin of `table` to the origin it maps to. */
export function routeOutbound(table: Record<string, string>): void {
  routes = new Map(Object.entries(table).map(([from, to]) => [new URL(from).origin, new URL(to).origin]));
}

function agentFor(functionName: string): Agent {
  let agent = agents.get(functionName);
  if (agent === undefined) {
    agent = new Agent({ connections: CONNECTIONS_PER_FUNCTION, keepAliveTimeout: 10_000, connect: { timeout: CONNECT_TIMEOUT_MS } });
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
  ROUTED_FROM_HEADER,
]);

/** Response headers only the host may make (an upstream could otherwise fake a denial or failure). */
const HOST_ANSWERS = new Set([DENIED_HEADER, FAILED_HEADER]);

/** Performs one request a guest made; never rejects (a failure is a reply too). */
export async function perform(request: OutboundRequest): Promise<OutboundReply> {
  const url = new URL(request.url);
  const headers: Record<string, string | string[]> = {};
  for (const [name, value] of request.headers) {
    if (HOST_OWNED.has(name)) continue;
    const existing = headers[name];
    headers[name] = existing === undefined ? value : ([] as string[]).concat(existing, value);
  }
  headers[GUEST_REQUEST_HEADER] = request.functionName;
  const routed = routes.get(url.origin);
  if (routed !== undefined) headers[ROUTED_FROM_HEADER] = url.origin;
  const signal = AbortSignal.timeout(request.timeoutMs);
  const tooLarge = (): OutboundReply => ({
    error: { tag: "HTTP-response-body-size", val: undefined },
    reason: `response larger than maxOutboundResponseBytes = ${request.maxResponseBytes} bytes`,
  });
  try {
    const response = await agentFor(request.functionName).request({
      origin: routed ?? url.origin,
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
    // One buffer of its own (not Node's shared pool).
    const body = new Uint8Array(size);
    let offset = 0;
    for (const chunk of chunks) {
      body.set(chunk, offset);
      offset += chunk.byteLength;
    }
    return { status: response.statusCode, headers: pairs, body };
  } catch (error) {
    return failure(error, request, signal);
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

/** Closes every connection pool (the executor is stopping). */
export async function closeTransport(): Promise<void> {
  const all = [...agents.values()];
  agents.clear();
  await Promise.all(all.map((agent) => agent.close().catch(() => undefined)));
}
