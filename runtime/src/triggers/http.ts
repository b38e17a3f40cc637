// The HTTP trigger: the app's catch-all route. It matches a request to a
// function's route (./routes.ts), checks its key, turns the request into an
// `http` event byte for byte, and turns the outcome back into a Response.
// Translation only; which instance runs it is the pool's business.
import type { Context, Hono } from "hono";
import type { EventValue, HttpRequestRecord, HttpResponseRecord } from "@wfn/sdk/abi";
import { checkInvoke, type AccessPolicy } from "../api/auth.js";
import { asWfnError, WfnError } from "../errors.js";
import type { InvokeOptions } from "../host-types.js";
import { errorResponse, functionErrorResponse } from "../http/errors.js";
import { incoming, rawHeaders, readChunks, requestBody, tooLarge } from "../http/body.js";
import type { InvocationResult } from "../invocation.js";
import type { LogSink } from "../observe/log.js";
import { clientAddress, FORWARDED_DRAW, FORWARDED_ORIGIN } from "./client-address.js";
import type { RouteMatch, RouteTable } from "./routes.js";

/** Limits the HTTP trigger enforces. */
export interface HttpLimits {
  maxRequestBytes: number;
  /** Whether a reverse proxy on this machine names the client (its address is the function's remote address). */
  trustProxy: boolean;
}

/** Response headers a function may not set: they belong to the connection, not the message. */
export const HOP_BY_HOP = new Set(["connection", "keep-alive", "transfer-encoding", "upgrade", "proxy-connection", "content-length"]);
export const NULL_BODY_STATUS = new Set([204, 205, 304]);

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
      return functionErrorResponse(result.error, requestId);
    case "failed":
      return errorResponse(result.error, requestId);
  }
}

/** What the HTTP trigger needs from the host. */
export interface HttpTriggerPort {
  readonly closing: boolean;
  readonly access: AccessPolicy;
  readonly maxRequestBytes: number;
  readonly log: LogSink;
  routes(): RouteTable;
  /** The alias serving a function's routes, or undefined for `$LATEST`. */
  trafficQualifier(name: string): string | undefined;
  /** Whether invoking the function with this qualifier needs a key (undefined: no such function). */
  requiresKey(name: string, qualifier: string | undefined): boolean | undefined;
  dispatch(name: string, event: EventValue, options: InvokeOptions): Promise<InvocationResult>;
}

/** Mounts the HTTP trigger as the app's last route: every request no other route took. */
export function mountHttpTrigger(app: Hono<{ Variables: { requestId: string } }>, port: HttpTriggerPort): void {
  app.all("*", async (c) => {
    const requestId = c.get("requestId");
    try {
      if (port.closing) throw new WfnError("WFN_SHUTTING_DOWN");
      const match = port.routes().match(c.req.method, c.req.path);
      if (match === undefined) throw new WfnError("WFN_ROUTE_NOT_FOUND", `No function handles ${c.req.method} ${c.req.path}`);
      const qualifier = port.trafficQualifier(match.name);
      if (port.requiresKey(match.name, qualifier) === true) {
        const denied = checkInvoke(c, port.access.keys, match.name);
        if (denied !== undefined) throw denied;
      }
      const request = await toHttpRequestRecord(c, { maxRequestBytes: port.maxRequestBytes, trustProxy: port.access.trustProxy }, match);
      const forwarded = incoming(c) as { [FORWARDED_DRAW]?: number; [FORWARDED_ORIGIN]?: number } | undefined;
      const draw = forwarded?.[FORWARDED_DRAW];
      const origin = forwarded?.[FORWARDED_ORIGIN];
      const options = { requestId, ...(qualifier === undefined ? {} : { qualifier }), ...(draw === undefined ? {} : { draw }), ...(origin === undefined ? {} : { origin }) };
      return invocationResponse(await port.dispatch(match.name, { tag: "http", val: request }, options));
    } catch (error) {
      const failure = asWfnError(error);
      if (failure.code === "WFN_INTERNAL") {
        port.log({ time: Date.now(), level: "error", source: "host", requestId, message: `request ${requestId} failed: ${failure.message}` });
      }
      return errorResponse(failure, requestId);
    }
  });
}
