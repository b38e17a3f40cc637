// The host's HTTP surface, mounted on its Hono app: the request-id
// middleware, the host's own routes under /_wfn/, the Lambda Invoke API
// under /2015-03-31/, and functions' routes. Translation only: the host
// (./host.ts) runs everything.
import { randomUUID } from "node:crypto";
import type { Context, Hono } from "hono";
import type { EventValue } from "@wfn/sdk/abi";
import { mountAdmin, type AdminHost } from "./api/admin.js";
import { adminGuard, checkInvoke, hasInvokeKey, type AccessPolicy } from "./api/auth.js";
import { mountLambdaApi } from "./api/lambda.js";
import { mountOperations, type OperationsHost } from "./api/operations.js";
import { asWfnError, WfnError } from "./errors.js";
import type { FunctionStatus, InvokeOptions } from "./host-types.js";
import type { InvocationResult } from "./invocation.js";
import type { LogSink } from "./observe/log.js";
import { errorResponse, invocationResponse, toHttpRequestRecord, type RouteTable } from "./triggers/http.js";

export type HostEnv = { Variables: { requestId: string } };

/** What the routes need from the host. */
export interface HostInternals extends OperationsHost, AdminHost {
  readonly access: AccessPolicy;
  /**
   * Whether invoking the function with this qualifier needs a key: whether
   * any version it may run (an alias's canary too) has `"auth": "key"`.
   * Undefined when there is no such function or qualifier.
   */
  requiresKey(name: string, qualifier: string | undefined): boolean | undefined;
  readonly closing: boolean;
  readonly maxRequestBytes: number;
  readonly maxAsyncPayloadBytes: number;
  readonly log: LogSink;
  routes(): RouteTable;
  functions(): FunctionStatus[];
  dispatch(name: string, event: EventValue, options: InvokeOptions): Promise<InvocationResult>;
  /** Checks that a function (and qualifier) exists, throwing WFN_FUNCTION_NOT_FOUND otherwise. */
  resolve(name: string, qualifier: string | undefined): void;
  /** The alias serving a function's routes and triggers, or undefined for `$LATEST`. */
  trafficQualifier(name: string): string | undefined;
}

/** Mounts every route of a host on its app. */
export function mountRoutes(app: Hono<HostEnv>, host: HostInternals): void {
  app.use("*", async (c, next) => {
    c.set("requestId", randomUUID());
    await next();
    if (!c.res.headers.has("x-wfn-request-id")) c.res.headers.set("x-wfn-request-id", c.get("requestId"));
  });
  app.use("/_wfn/*", adminGuard(host.access));
  app.get("/_wfn/health", (c) => c.json({ status: host.closing ? "stopping" : "ok", functions: host.functions().length }));
  app.get("/_wfn/functions", (c) => c.json({ functions: host.functions() }));
  mountOperations(app, host);
  mountAdmin(app, host);
  app.all("/_wfn/*", (c) => errorResponse(new WfnError("WFN_ROUTE_NOT_FOUND", `No host route ${c.req.method} ${c.req.path}`), c.get("requestId")));
  mountLambdaApi(app, {
    dispatchInvoke: (name, payload, options) =>
      host.dispatch(
        name,
        { tag: "invoke", val: { payload } },
        {
          requestId: options.requestId,
          ...(options.qualifier === undefined ? {} : { qualifier: options.qualifier }),
          ...(options.clientContext === undefined ? {} : { clientContext: options.clientContext }),
        },
      ),
    resolve: (name, qualifier) => host.resolve(name, qualifier),
    authorize: (c, name, qualifier) => invokeDenied(c, host, name, qualifier),
    invokeAsync: (name, payload, requestId, qualifier) => host.acceptAsync(name, { tag: "invoke", val: { payload } }, requestId, qualifier),
    maxRequestBytes: host.maxRequestBytes,
    maxAsyncPayloadBytes: host.maxAsyncPayloadBytes,
  });
  app.all("*", async (c) => {
    const requestId = c.get("requestId");
    try {
      if (host.closing) throw new WfnError("WFN_SHUTTING_DOWN");
      const match = host.routes().match(c.req.method, c.req.path);
      if (match === undefined) throw new WfnError("WFN_ROUTE_NOT_FOUND", `No function handles ${c.req.method} ${c.req.path}`);
      const qualifier = host.trafficQualifier(match.name);
      if (host.requiresKey(match.name, qualifier) === true) {
        const denied = checkInvoke(c, host.access.keys, match.name);
        if (denied !== undefined) throw denied;
      }
      const request = await toHttpRequestRecord(c, { maxRequestBytes: host.maxRequestBytes, trustProxy: host.access.trustProxy }, match);
      return invocationResponse(await host.dispatch(match.name, { tag: "http", val: request }, { requestId, ...(qualifier === undefined ? {} : { qualifier }) }));
    } catch (error) {
      const failure = asWfnError(error);
      if (failure.code === "WFN_INTERNAL") {
        host.log({ time: Date.now(), level: "error", source: "host", requestId, message: `request ${requestId} failed: ${failure.message}` });
      }
      return errorResponse(failure, requestId);
    }
  });
  app.onError((error, c) => errorResponse(asWfnError(error), c.get("requestId") ?? randomUUID()));
}

/**
 * Why an Invoke API caller may not invoke a function, or undefined if it
 * may. On a host with keys, a caller without a valid key learns nothing of
 * which functions exist: a missing one is refused as a keyed one is.
 */
function invokeDenied(c: Context, host: HostInternals, name: string, qualifier: string | undefined): WfnError | undefined {
  const { keys } = host.access;
  if (hasInvokeKey(c, keys)) return undefined;
  const needsKey = host.requiresKey(name, qualifier);
  if (needsKey === false || (needsKey === undefined && keys.admin.length + keys.invoke.length === 0)) return undefined;
  const given = c.req.header("authorization") !== undefined;
  return new WfnError(
    "WFN_UNAUTHORIZED",
    given ? `the key may not invoke function ${name}, or there is no such function` : `function ${name} needs a key, or does not exist: send Authorization: Bearer <key>`,
  );
}
