// The host's HTTP surface, mounted on its Hono app in order: the request-id
// middleware, the admin guard, the host's own routes under /_wfn/, the Lambda
// Invoke API under /2015-03-31/, and last the HTTP trigger (every request
// nothing else took). Each part gets its own narrow port, cut here from the
// host's rooms (`hostRoutes`); `mountRoutes` only puts them in order.
import { randomUUID } from "node:crypto";
import type { Hono } from "hono";
import type { EventValue } from "@wfn/sdk/abi";
import { mountAdmin, type AdminHost } from "./api/admin.js";
import { adminGuard, invokeDenied, type AccessPolicy } from "./api/auth.js";
import { mountLambdaApi, type LambdaApiHost } from "./api/lambda.js";
import { mountOperations, type OperationsHost } from "./api/operations.js";
import type { Deployments } from "./deploy/deployments.js";
import { asWfnError, WfnError } from "./errors.js";
import type { FunctionStatus, Host } from "./host-types.js";
import { errorResponse } from "./http/errors.js";
import type { LogSink } from "./observe/log.js";
import type { LogStore } from "./observe/log-store.js";
import type { Metrics } from "./observe/metrics.js";
import type { HostSettings } from "./settings.js";
import type { Store } from "./store/store.js";
import { mountHttpTrigger, type HttpTriggerPort } from "./triggers/http.js";
import type { Triggers } from "./triggers/triggers.js";

export type HostEnv = { Variables: { requestId: string } };

/** The ports of every part of the HTTP surface. */
export interface HostRoutes {
  access: AccessPolicy;
  /** For `/_wfn/health` and `/_wfn/ready`: `behind` says why the host does not serve what the fleet deployed (a shared store). */
  health(): { closing: boolean; functions: number; behind: string | undefined };
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
  // Readiness (a load balancer's or Kubernetes' probe): 503 while stopping, or while what other hosts
  // deployed could not be prepared here; liveness stays /_wfn/health.
  app.get("/_wfn/ready", (c) => {
    const health = routes.health();
    if (health.closing) return c.json({ status: "stopping", functions: health.functions }, 503);
    if (health.behind !== undefined) return c.json({ status: "behind", functions: health.functions, reason: health.behind }, 503);
    return c.json({ status: "ready", functions: health.functions });
  });
  app.get("/_wfn/functions", (c) => c.json({ functions: routes.functions() }));
  mountOperations(app, routes.operations);
  mountAdmin(app, routes.admin);
  app.all("/_wfn/*", (c) => errorResponse(new WfnError("WFN_ROUTE_NOT_FOUND", `No host route ${c.req.method} ${c.req.path}`), c.get("requestId")));
  mountLambdaApi(app, routes.lambda);
  mountHttpTrigger(app, routes.http);
  app.onError((error, c) => errorResponse(asWfnError(error), c.get("requestId") ?? randomUUID()));
}

/** The rooms the HTTP surface reads. */
export interface HostRooms {
  settings: HostSettings;
  deployments: Deployments;
  triggers: Triggers;
  store: Store;
  /** The host's public face: status, deploys and dispatch. */
  host: AdminHost["admin"] & Pick<Host, "dispatch">;
  metrics: Metrics;
  logs: LogStore;
  log: LogSink;
  closing(): boolean;
}

/** Cuts each part's port from the host's rooms. */
export function hostRoutes(rooms: HostRooms): HostRoutes {
  const { settings, deployments, triggers, host, closing } = rooms;
  const requiresKey = (name: string, qualifier: string | undefined) => deployments.requiresKey(name, qualifier);
  const acceptAsync = (name: string, event: EventValue, requestId: string, qualifier?: string) => {
    if (closing()) throw new WfnError("WFN_SHUTTING_DOWN");
    return triggers.async.accept(name, event, requestId, qualifier);
  };
  return {
    access: settings.access,
    health: () => ({ closing: closing(), functions: host.functions().length, behind: deployments.behind }),
    functions: () => host.functions(),
    operations: {
      queues: triggers.queues,
      schedules: triggers.schedules,
      asyncFailures: (name, limit) => rooms.store.listAsyncFailures(name, limit),
      asyncPending: () => triggers.async.pending(),
      storageTrigger: (name) => deployments.registry.trafficConfig(name)?.storage,
      acceptAsync,
      trafficQualifier: (name) => deployments.trafficQualifier(name),
      maxAsyncPayloadBytes: settings.maxAsyncPayloadBytes,
      log: rooms.log,
    },
    admin: { admin: host, metrics: rooms.metrics, logs: rooms.logs, maxUploadBytes: settings.maxUploadBytes, maxUploadFunctions: settings.maxUploadFunctions, uploadDir: settings.uploadDir },
    lambda: {
      dispatchInvoke: (name, payload, { requestId, qualifier, clientContext }) =>
        host.dispatch(name, { tag: "invoke", val: { payload } }, { requestId, ...(qualifier === undefined ? {} : { qualifier }), ...(clientContext === undefined ? {} : { clientContext }) }),
      resolve: (name, qualifier) => void deployments.resolve(name, qualifier),
      authorize: (c, name, qualifier) => invokeDenied(c, settings.access.keys, name, requiresKey(name, qualifier)),
      invokeAsync: (name, payload, requestId, qualifier) => acceptAsync(name, { tag: "invoke", val: { payload } }, requestId, qualifier),
      maxRequestBytes: settings.maxRequestBytes,
      maxAsyncPayloadBytes: settings.maxAsyncPayloadBytes,
    },
    http: {
      get closing() {
        return closing();
      },
      access: settings.access,
      maxRequestBytes: settings.maxRequestBytes,
      log: rooms.log,
      routes: () => deployments.routes,
      trafficQualifier: (name) => deployments.trafficQualifier(name),
      requiresKey,
      dispatch: (name, event, options) => host.dispatch(name, event, options),
    },
  };
}
