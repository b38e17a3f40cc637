// The HTTP trigger: matches a request to a function's route, turns it into
// an `http` event byte for byte, and turns the outcome back into a Response.
// Translation only; which instance runs it is the pool's business.
import type { Context } from "hono";
import type { HttpRequestRecord, HttpResponseRecord } from "@wfn/sdk/abi";
import { SmartRouter } from "hono/router/smart-router";
import { RegExpRouter } from "hono/router/reg-exp-router";
import { TrieRouter } from "hono/router/trie-router";
import type { Router } from "hono/router";
import { parseRoute, type Route } from "../config/function-config.js";
import { asWfnError, WfnError } from "../errors.js";
import { clientAddress } from "./client-address.js";
import type { InvocationResult } from "../invocation.js";

/** A function's routes, as given to the route table. */
export interface RoutedFunction {
  name: string;
  routes: readonly string[];
}

/** A matched route. */
export interface RouteMatch {
  name: string;
  /** The route as configured (`"GET /items/:id"`). */
  route: string;
  params: Record<string, string>;
}

interface RouteTarget {
  name: string;
  route: string;
}

/** Maps method + path to a function; immutable, rebuilt when functions change. */
export class RouteTable {
  readonly #router: Router<RouteTarget>;
  readonly #empty: boolean;

  /**
   * @throws WfnError WFN_INVALID_CONFIG when two functions claim the same route.
   */
  constructor(functions: readonly RoutedFunction[]) {
    this.#router = new SmartRouter<RouteTarget>({ routers: [new RegExpRouter(), new TrieRouter()] });
    const claimed = new Map<string, string>();
    const routes: Array<{ name: string; source: string; route: Route }> = [];
    for (const fn of functions) {
      for (const source of fn.routes) {
        const route = parseRoute(source);
        if (typeof route === "string") throw new WfnError("WFN_INVALID_CONFIG", `function "${fn.name}": route "${source}": ${route}`);
        const key = `${route.method} ${route.path}`;
        const owner = claimed.get(key);
        if (owner !== undefined && owner !== fn.name) {
          throw new WfnError("WFN_INVALID_CONFIG", `route "${source}" of function "${fn.name}" is already served by function "${owner}"`);
        }
        claimed.set(key, fn.name);
        routes.push({ name: fn.name, source, route });
      }
    }
    // The first route added wins a match: add the most specific first, so
    // "/other" beats "/*" whichever function was deployed first.
    const ranked = routes.map((entry, index) => ({ entry, index, rank: specificity(entry.route) }));
    ranked.sort((a, b) => compareRanks(b.rank, a.rank) || a.index - b.index);
    for (const { entry } of ranked) this.#router.add(entry.route.method, entry.route.path, { name: entry.name, route: entry.source });
    this.#empty = claimed.size === 0;
  }

  match(method: string, path: string): RouteMatch | undefined {
    if (this.#empty) return undefined;
    return this.#find(method, path) ?? (method === "HEAD" ? this.#find("GET", path) : undefined);
  }

  #find(method: string, path: string): RouteMatch | undefined {
    const result = this.#router.match(method, path);
    const first = result[0][0];
    if (first === undefined) return undefined;
    const [target, paramsOrIndex] = first;
    const params: Record<string, string> = {};
    const stash = result[1];
    for (const [key, value] of Object.entries(paramsOrIndex as Record<string, string | number>)) {
      params[key] = typeof value === "number" ? (stash?.[value] ?? "") : value;
    }
    return { name: target.name, route: target.route, params };
  }
}

/** How specific a route is, compared field by field: more is more specific. */
function specificity(route: Route): number[] {
  const segments = route.path.split("/").filter((segment) => segment !== "");
  const wildcard = segments.some((segment) => segment.includes("*"));
  const literal = segments.filter((segment) => !segment.startsWith(":") && !segment.includes("*")).length;
  return [wildcard ? 0 : 1, segments.length, literal, route.method === "ALL" ? 0 : 1];
}

function compareRanks(a: number[], b: number[]): number {
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return a[i]! - b[i]!;
  return 0;
}

/** Limits the HTTP trigger enforces. */
export interface HttpLimits {
  maxRequestBytes: number;
  /** Whether a reverse proxy on this machine names the client (its address is the function's remote address). */
  trustProxy: boolean;
}

/** Response headers a function may not set: they belong to the connection, not the message. */
const HOP_BY_HOP = new Set(["connection", "keep-alive", "transfer-encoding", "upgrade", "proxy-connection", "content-length"]);
const NULL_BODY_STATUS = new Set([204, 205, 304]);

/** Reads a request into the world's record, refusing bodies over the limit before reading them whole. */
export async function toHttpRequestRecord(c: Context, limits: HttpLimits, match?: RouteMatch): Promise<HttpRequestRecord> {
  const route = match === undefined ? undefined : { key: match.route, params: Object.entries(match.params) };
  const node = incoming(c);
  if (node?.rawHeaders !== undefined && node.method !== undefined && node.headers !== undefined && typeof node[Symbol.asyncIterator] === "function") {
    // Under @hono/node-server, read Node's message directly: building a web Request for it costs more than the rest of the trigger.
    const declared = node.headers["content-length"];
    if (declared !== undefined && Number(declared) > limits.maxRequestBytes) throw tooLarge(Number(declared), limits.maxRequestBytes);
    const hasBody = (declared !== undefined && declared !== "0") || node.headers["transfer-encoding"] !== undefined;
    return {
      method: node.method,
      url: c.req.url,
      headers: rawHeaders(c)!,
      body: hasBody ? await readChunks(requestBody(c)!, limits.maxRequestBytes) : new Uint8Array(0),
      route,
      remoteAddress: clientAddress(c, limits.trustProxy).address,
    };
  }
  const request = c.req.raw;
  const declared = request.headers.get("content-length");
  if (declared !== null && Number(declared) > limits.maxRequestBytes) {
    throw tooLarge(Number(declared), limits.maxRequestBytes);
  }
  return {
    method: request.method,
    url: request.url,
    headers: rawHeaders(c) ?? [...request.headers],
    body: request.body === null ? new Uint8Array(0) : await readChunks(request.body, limits.maxRequestBytes),
    route,
    remoteAddress: clientAddress(c, limits.trustProxy).address,
  };
}

interface Incoming {
  method?: string;
  headers?: Record<string, string | string[] | undefined>;
  rawHeaders?: string[];
  socket?: { remoteAddress?: string };
  [Symbol.asyncIterator]?: unknown;
  iterator?: (options: { destroyOnReturn: boolean }) => AsyncIterable<Uint8Array>;
}

/** Node's IncomingMessage, when the request came through @hono/node-server. */
function incoming(c: Context): Incoming | undefined {
  return (c.env as { incoming?: Incoming } | undefined)?.incoming;
}

function tooLarge(size: number, limit: number): WfnError {
  return new WfnError("WFN_PAYLOAD_TOO_LARGE", `Request must be smaller than ${limit} bytes (got ${size} or more)`, { details: { limit } });
}

/** Header pairs exactly as received (duplicates kept apart), when the Node server exposes them. */
function rawHeaders(c: Context): Array<[string, string]> | undefined {
  const raw = incoming(c)?.rawHeaders;
  if (raw === undefined) return undefined;
  const pairs: Array<[string, string]> = [];
  for (let i = 0; i + 1 < raw.length; i += 2) pairs.push([raw[i]!.toLowerCase(), raw[i + 1]!]);
  return pairs;
}

/**
 * Reads a request's body whole, refusing it with 413 (`what` names it in
 * the message) as soon as the declared length or the bytes received pass
 * `limit`: a body over the limit is never held in memory.
 */
export async function readRequestBody(c: Context, limit: number, what = "Request"): Promise<Uint8Array> {
  const refuse = (size: number) => new WfnError("WFN_PAYLOAD_TOO_LARGE", `${what} must be smaller than ${limit} bytes (got ${size} or more)`, { details: { limit } });
  const declared = Number(c.req.header("content-length") ?? "0");
  if (declared > limit) throw refuse(declared);
  const body = requestBody(c);
  return body === null ? new Uint8Array(0) : readChunks(body, limit, refuse);
}

/**
 * The body of a request as it arrives. Under @hono/node-server, Node's
 * message itself, iterated so that a reader which stops early (a body over
 * its limit) leaves it open: the rest is drained after the response and the
 * connection stays usable. Destroying it would reset the connection under
 * the client's next request; a web stream over it would stall the drain.
 */
export function requestBody(c: Context): AsyncIterable<Uint8Array> | null {
  const node = incoming(c);
  if (typeof node?.iterator === "function") return node.iterator({ destroyOnReturn: false });
  return c.req.raw.body;
}

/**
 * Reads a body into one buffer, giving up (with `refuse(size so far)`) as
 * soon as it passes `limit` bytes, so an oversized body is never buffered whole.
 */
export async function readChunks(source: AsyncIterable<Uint8Array>, limit: number, refuse: (size: number) => Error = (size) => tooLarge(size, limit)): Promise<Uint8Array> {
  const chunks: Uint8Array[] = [];
  let size = 0;
  for await (const chunk of source) {
    size += chunk.byteLength;
    if (size > limit) throw refuse(size);
    chunks.push(chunk);
  }
  if (chunks.length === 0) return new Uint8Array(0);
  if (chunks.length === 1 && chunks[0]!.byteOffset === 0 && chunks[0]!.byteLength === chunks[0]!.buffer.byteLength) return chunks[0]!;
  const body = new Uint8Array(size);
  let offset = 0;
  for (const chunk of chunks) {
    body.set(chunk, offset);
    offset += chunk.byteLength;
  }
  return body;
}

/** Builds the client's Response from a function's response record. */
export function toResponse(record: HttpResponseRecord, requestId: string): Response {
  const headers = new Headers();
  try {
    for (const [name, value] of record.headers) {
      if (!HOP_BY_HOP.has(name.toLowerCase())) headers.append(name, value);
    }
  } catch (cause) {
    throw new WfnError("WFN_INVALID_RESPONSE", `the function returned an invalid header: ${(cause as Error).message}`, { cause });
  }
  headers.set("x-wfn-request-id", requestId);
  if (!Number.isInteger(record.status) || record.status < 200 || record.status > 599) {
    throw new WfnError("WFN_INVALID_RESPONSE", `the function returned HTTP status ${record.status}; a response status must be from 200 to 599`);
  }
  const body = NULL_BODY_STATUS.has(record.status) || record.body.byteLength === 0 ? null : record.body;
  return new Response(body as BodyInit | null, { status: record.status, headers });
}

/** The JSON error body every failed request gets. */
export function errorResponse(error: WfnError | { errorType: string; errorMessage: string; status: number }, requestId: string): Response {
  const body =
    error instanceof WfnError
      ? { errorType: error.lambdaType, errorMessage: error.message, requestId }
      : { errorType: error.errorType, errorMessage: error.errorMessage, requestId };
  const status = error instanceof WfnError ? error.status : error.status;
  const headers: Record<string, string> = { "content-type": "application/json", "x-wfn-request-id": requestId };
  if (error instanceof WfnError && error.code === "WFN_THROTTLED") headers["retry-after"] = "1";
  return new Response(JSON.stringify(body), { status, headers });
}

/** Turns an invocation's result into the HTTP response. */
export function invocationResponse(result: InvocationResult): Response {
  const { requestId } = result;
  switch (result.status) {
    case "ok": {
      const outcome = result.outcome;
      if (outcome.tag === "http") {
        try {
          return toResponse(outcome.val, requestId);
        } catch (error) {
          return errorResponse(asWfnError(error, "WFN_INVALID_RESPONSE"), requestId);
        }
      }
      return new Response(outcome.val as BodyInit, {
        status: 200,
        headers: { "content-type": "application/json", "x-wfn-request-id": requestId },
      });
    }
    case "error":
      return errorResponse({ errorType: result.error.errorType, errorMessage: result.error.message, status: 500 }, requestId);
    case "failed":
      return errorResponse(result.error, requestId);
  }
}
