// The host's HTTP surface, mounted on its Hono app in order: the request-id
// middleware, the admin guard, the host's own routes under /_wfn/, the Lambda
// Invoke API under /2015-03-31/, and last the HTTP trigger (every request
// nothing else took). Each part gets its own narrow port; this file only
// puts them in order.
import { randomUUID } from "node:crypto";
import type { Hono } from "hono";
import { mountAdmin, type AdminHost } from "./api/admin.js";
import { adminGuard, type AccessPolicy } from "./api/auth.js";
import { mountLambdaApi, type LambdaApiHost } from "./api/lambda.js";
import { mountOperations, type OperationsHost } from "./api/operations.js";
import { asWfnError, WfnError } from "./errors.js";
import type { FunctionStatus } from "./host-types.js";
import { errorResponse } from "./http/errors.js";
import { mountHttpTrigger, type HttpTriggerPort } from "./triggers/http.js";

export type HostEnv = { Variables: { requestId: string } };

/** The ports of every part of the HTTP surface. */
export interface HostRoutes {
  access: AccessPolicy;
  /** For `/_wfn/health`. */
  health(): { closing: boolean; functions: number };
  functions(): FunctionStatus[];
  operations: OperationsHost;
  admin: AdminHost;
  lambda: LambdaApiHost;
  http: HttpTriggerPort;
}

/** Mounts every route of a host on its app. */
export function mountRoutes(app: Hono<HostEnv>, routes: HostRoutes): void {
  app.use("*", async (c, next) => {
    c.set("requestId", randomUUID());
    await next();
    if (!c.res.headers.has("x-wfn-request-id")) c.res.headers.set("x-wfn-request-id", c.get("requestId"));
  });
  app.use("/_wfn/*", adminGuard(routes.access));
  app.get("/_wfn/health", (c) => {
    const health = routes.health();
    return c.json({ status: health.closing ? "stopping" : "ok", functions: health.functions });
  });
  app.get("/_wfn/functions", (c) => c.json({ functions: routes.functions() }));
  mountOperations(app, routes.operations);
  mountAdmin(app, routes.admin);
  app.all("/_wfn/*", (c) => errorResponse(new WfnError("WFN_ROUTE_NOT_FOUND", `No host route ${c.req.method} ${c.req.path}`), c.get("requestId")));
  mountLambdaApi(app, routes.lambda);
  mountHttpTrigger(app, routes.http);
  app.onError((error, c) => errorResponse(asWfnError(error), c.get("requestId") ?? randomUUID()));
}
