// The admin API under /_wfn/: deployments (multipart uploads of what
// `wfn build` writes), functions, versions, aliases, traffic, rollback,
// configuration, logs and metrics. JSON in, JSON out, errors as the host's
// JSON errors; docs/openapi.json describes it. Translation only: the host
// does the work.
import { CAPABILITY_CONFIG } from "../capabilities/config.js";
import type { Context, Hono } from "hono";
import { WfnError } from "../errors.js";
import { readRequestBody, requestBody } from "../http/body.js";
import type { ConfigurationPatch, Host } from "../host-types.js";
import type { LogStore, StoredLogRecord } from "../observe/log-store.js";
import type { Metrics } from "../observe/metrics.js";
import { readUpload } from "./upload.js";

export interface AdminHost {
  admin: Pick<Host, "function" | "functions" | "versions" | "deployApp" | "undeploy" | "setAlias" | "deleteAlias" | "setTraffic" | "rollback" | "updateConfiguration" | "deleteVersion">;
  metrics: Metrics;
  logs: LogStore;
  maxUploadBytes: number;
  maxUploadFunctions: number;
  /** Where uploads' components are written while they arrive. */
  uploadDir: string;
}

/**
 * Largest body of the JSON routes (configuration, alias, traffic,
 * rollback): a configuration is a few KB; 1 MiB leaves room for a large
 * `env` without letting a request hold the host's memory.
 */
export const MAX_ADMIN_JSON_BYTES = 1024 * 1024;

type Env = { Variables: { requestId: string } };

/** Most log records one `GET /_wfn/logs` returns (a function's log store keeps about this many). */
const MAX_LOG_RECORDS = 10_000;

/** Fields a configuration update may set. */
const CONFIGURABLE = ["routes", "env", "memoryMB", "timeoutMs", "minInstances", "maxConcurrency", "isolation", "allowedOutboundHosts", "queue", "schedule", "storage", "async", "auth", ...CAPABILITY_CONFIG.map((entry) => entry.field)];

/** Mounts the admin routes (the caller guards them). */
export function mountAdmin(app: Hono<Env>, host: AdminHost): void {
  const { admin } = host;
  const existing = (name: string) => {
    const status = admin.function(name);
    if (status === undefined) throw new WfnError("WFN_FUNCTION_NOT_FOUND", `Function not found: ${name}`);
    return status;
  };

  app.post(
    "/_wfn/deployments",
    async (c) => {
      const limits = { maxBytes: host.maxUploadBytes, maxFunctions: host.maxUploadFunctions };
      const request = { contentType: c.req.header("content-type"), contentLength: c.req.header("content-length"), body: requestBody(c) };
      const { artifacts, queues, description } = await readUpload(request, limits, host.uploadDir);
      const result = await admin.deployApp(artifacts, { ...(queues === undefined ? {} : { queues }), ...(description === undefined ? {} : { description }) });
      return c.json({ ...result, status: result.functions.map((r) => admin.function(r.function)) });
    },
  );

  app.get("/_wfn/functions/:name", async (c) => c.json({ function: existing(param(c, "name")), versions: admin.versions(param(c, "name")) }));

  app.delete(
    "/_wfn/functions/:name",
    async (c) => {
      if (!(await admin.undeploy(param(c, "name")))) throw new WfnError("WFN_FUNCTION_NOT_FOUND", `Function not found: ${param(c, "name")}`);
      return c.body(null, 204);
    },
  );

  app.get("/_wfn/functions/:name/versions", async (c) => c.json({ versions: admin.versions(param(c, "name")) }));

  app.delete(
    "/_wfn/functions/:name/versions/:version",
    async (c) => {
      await admin.deleteVersion(param(c, "name"), versionNumber(param(c, "version"), "version"));
      return c.body(null, 204);
    },
  );

  app.patch(
    "/_wfn/functions/:name/configuration",
    async (c) => {
      const body = await readObject(c);
      const { description, ...patch } = body;
      const unknown = Object.keys(patch).filter((key) => !CONFIGURABLE.includes(key));
      if (unknown.length > 0) throw new WfnError("WFN_INVALID_REQUEST", `cannot change ${unknown.map((k) => `"${k}"`).join(", ")} (configurable: ${CONFIGURABLE.join(", ")})`);
      if (Object.keys(patch).length === 0) throw new WfnError("WFN_INVALID_REQUEST", `nothing to change (configurable: ${CONFIGURABLE.join(", ")})`);
      const result = await admin.updateConfiguration(param(c, "name"), patch as ConfigurationPatch, typeof description === "string" ? { description } : {});
      return c.json({ ...result, function: admin.function(param(c, "name")) });
    },
  );

  app.get("/_wfn/functions/:name/aliases", async (c) => c.json({ aliases: existing(param(c, "name")).aliases }));

  app.put(
    "/_wfn/functions/:name/aliases/:alias",
    async (c) => {
      const body = await readObject(c);
      const canary = body.canary as { version?: unknown; weight?: unknown } | undefined | null;
      if (canary !== undefined && canary !== null && (typeof canary !== "object" || typeof canary.weight !== "number")) {
        throw new WfnError("WFN_INVALID_REQUEST", '"canary" is {"version": <number>, "weight": <0..1>}');
      }
      const alias = await admin.setAlias(param(c, "name"), param(c, "alias"), {
        version: versionNumber(body.version, '"version"'),
        ...(canary === undefined || canary === null ? {} : { canary: { version: versionNumber(canary.version, '"canary.version"'), weight: canary.weight as number } }),
        ...(typeof body.description === "string" ? { description: body.description } : {}),
      });
      return c.json({ alias });
    },
  );

  app.delete(
    "/_wfn/functions/:name/aliases/:alias",
    async (c) => {
      await admin.deleteAlias(param(c, "name"), param(c, "alias"));
      return c.body(null, 204);
    },
  );

  app.put(
    "/_wfn/functions/:name/traffic",
    async (c) => {
      const { qualifier } = await readObject(c);
      if (typeof qualifier !== "string") throw new WfnError("WFN_INVALID_REQUEST", 'send {"qualifier": "$LATEST" | "<alias>"}');
      return c.json({ function: await admin.setTraffic(param(c, "name"), qualifier) });
    },
  );

  app.post(
    "/_wfn/functions/:name/rollback",
    async (c) => {
      const text = await readText(c);
      const body = text.trim() === "" ? {} : parseObject(text);
      const to = body.to === undefined || body.to === null ? undefined : versionNumber(body.to, '"to"');
      const outcome = await admin.rollback(param(c, "name"), to === undefined ? {} : { to });
      return c.json({ ...outcome, function: admin.function(param(c, "name")) });
    },
  );

  app.get(
    "/_wfn/metrics",
    async () => new Response(await host.metrics.render(), { headers: { "content-type": host.metrics.contentType } }),
  );

  app.get(
    "/_wfn/logs",
    async (c) => {
      const filter = {
        ...(c.req.query("function") === undefined ? {} : { function: c.req.query("function")! }),
        ...(c.req.query("requestId") === undefined ? {} : { requestId: c.req.query("requestId")! }),
      };
      const since = timeParam(c.req.query("since"), "since");
      const until = timeParam(c.req.query("until"), "until");
      const limit = c.req.query("limit") === undefined ? 1000 : Math.min(MAX_LOG_RECORDS, versionNumber(c.req.query("limit"), "limit"));
      const query = () => host.logs.query({ ...filter, ...(since === undefined ? {} : { since }), ...(until === undefined ? {} : { until }), limit });
      if (c.req.query("follow") === undefined || c.req.query("follow") === "false") return c.json({ records: query() });
      return follow(c, host.logs, filter, query);
    },
  );
}

/** Streams matching records as JSON lines: the recent ones, then each new one as it is written, until the client goes away. */
function follow(c: Context<Env>, logs: LogStore, filter: { function?: string; requestId?: string }, recent: () => StoredLogRecord[]): Response {
  const encoder = new TextEncoder();
  let stop = () => {};
  const stream = new ReadableStream<Uint8Array>({
    start(controller) {
      const send = (record: StoredLogRecord) => {
        try {
          controller.enqueue(encoder.encode(JSON.stringify(record) + "\n"));
        } catch {
          stop();
        }
      };
      // Both synchronous: no record can be written between the recent ones and the subscription.
      for (const record of recent()) send(record);
      const unsubscribe = logs.subscribe(filter, send);
      // A blank line now and then keeps proxies from closing an idle stream and tells us when the client left.
      const heartbeat = setInterval(() => {
        try {
          controller.enqueue(encoder.encode("\n"));
        } catch {
          stop();
        }
      }, 15_000);
      heartbeat.unref();
      stop = () => {
        unsubscribe();
        clearInterval(heartbeat);
        try {
          controller.close();
        } catch {
          // already closed
        }
      };
      c.req.raw.signal.addEventListener("abort", () => stop(), { once: true });
    },
    cancel() {
      stop();
    },
  });
  return new Response(stream, { headers: { "content-type": "application/x-ndjson", "cache-control": "no-store", "x-wfn-request-id": c.get("requestId") } });
}

/** A path parameter of the route (always present when the route matched). */
function param(c: Context, name: string): string {
  return c.req.param(name) ?? "";
}

async function readObject(c: Context): Promise<Record<string, unknown>> {
  return parseObject(await readText(c));
}

async function readText(c: Context): Promise<string> {
  return new TextDecoder().decode(await readRequestBody(c, MAX_ADMIN_JSON_BYTES, "The body"));
}

function parseObject(text: string): Record<string, unknown> {
  const value = parseJson(text, "the body");
  if (value === null || typeof value !== "object" || Array.isArray(value)) throw new WfnError("WFN_INVALID_REQUEST", "the body must be a JSON object");
  return value as Record<string, unknown>;
}

function parseJson(text: string, what: string): unknown {
  try {
    return JSON.parse(text);
  } catch (error) {
    throw new WfnError("WFN_INVALID_REQUEST", `${what} is not JSON: ${(error as Error).message}`);
  }
}

function versionNumber(value: unknown, what: string): number {
  const number = typeof value === "string" && /^[0-9]+$/.test(value) ? Number(value) : value;
  if (typeof number !== "number" || !Number.isSafeInteger(number) || number < 1) throw new WfnError("WFN_INVALID_REQUEST", `${what} must be a positive whole number, got ${JSON.stringify(value)}`);
  return number;
}

/** An epoch-millisecond or ISO time, or a duration back from now (`10m`, `2h`, `30s`, `1d`). */
function timeParam(value: string | undefined, what: string): number | undefined {
  if (value === undefined || value === "") return undefined;
  const relative = /^(\d+)(ms|s|m|h|d)$/.exec(value);
  if (relative !== null) {
    const unit = { ms: 1, s: 1000, m: 60_000, h: 3_600_000, d: 86_400_000 }[relative[2] as "ms" | "s" | "m" | "h" | "d"];
    return Date.now() - Number(relative[1]) * unit;
  }
  const ms = /^\d+$/.test(value) ? Number(value) : Date.parse(value);
  if (Number.isNaN(ms)) throw new WfnError("WFN_INVALID_REQUEST", `${what} must be a time (ISO 8601 or epoch ms) or a duration such as 10m, got "${value}"`);
  return ms;
}
