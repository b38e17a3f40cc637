// The guest glue for AWS Lambda-style functions: `export const handler =
// async (event, context) => result`. Events arrive in Lambda's shapes (API
// Gateway HTTP API 2.0, SQS, S3, EventBridge), `context` is Lambda's, and
// `process.env` holds the configured variables plus Lambda's reserved ones.
//
// Module top level runs at build time (the component is pre-initialised):
// `process.env` then holds what `wfn build` knew (the configuration's env and
// the function's name, version and memory size, set up by the bundle's first
// line); the host's values replace them before the first invocation.
import { getEnvironment } from "wasi:cli/environment@0.2.10";
import { log } from "wfn:function/host@0.1.0";
import type { ContextRecord, EventValue, HandleResult, OutcomeValue } from "../abi.js";
import type { KvNamespace } from "../types.js";
import { fromApiGatewayResult, toApiGatewayEvent } from "./apigw.js";
import { routeConsole } from "./console.js";
import { FunctionShapeError, toFunctionError } from "./errors.js";
import { guardFetch } from "./fetch.js";
import { toS3Event, toScheduledEvent, toSqsEvent } from "./lambda-events.js";
import { kv } from "./kv.js";
import { sendMessage } from "./queue.js";

/** Lambda's `context` object (the shape of `Context` in @types/aws-lambda). */
export interface LambdaContext {
  callbackWaitsForEmptyEventLoop: boolean;
  functionName: string;
  functionVersion: string;
  invokedFunctionArn: string;
  memoryLimitInMB: string;
  awsRequestId: string;
  logGroupName: string;
  logStreamName: string;
  identity?: unknown;
  clientContext?: unknown;
  getRemainingTimeInMillis(): number;
  done(error?: unknown, result?: unknown): void;
  fail(error: unknown): void;
  succeed(result: unknown): void;
  /** wfn's own: sends a message to one of the app's queues; resolves with its id once stored. */
  sendMessage(queue: string, body: string, attributes?: Readonly<Record<string, string>>): Promise<string>;
  /** wfn's own: a key-value namespace the function declares (`kv` in wfn.json). */
  kv(namespace: string): KvNamespace;
}

type Handler = (event: unknown, context: LambdaContext, callback?: (error?: unknown, result?: unknown) => void) => unknown;

const encoder = new TextEncoder();

/**
 * Wraps a module exporting `handler` into the world's `handle` export.
 *
 * @throws FunctionShapeError at build time when `handler` is not a function.
 */
export function createLambdaGuest(module: Record<string, unknown>): (event: EventValue, context: ContextRecord) => Promise<HandleResult> {
  // A CommonJS entry (`exports.handler = ...`) arrives as the default export's property.
  const handler = module.handler ?? (module.default as Record<string, unknown> | undefined)?.handler;
  if (typeof handler !== "function") {
    throw new FunctionShapeError("a Lambda-style entry must `export const handler = async (event, context) => { ... }`");
  }
  const env = installProcessEnv();
  routeConsole(log);
  guardFetch();
  let refreshed = false;
  let logStream: string | undefined;
  return async function handle(event, record) {
    if (!refreshed) {
      refreshed = true;
      const actual = Object.fromEntries(getEnvironment());
      for (const key of Object.keys(env)) if (!(key in actual)) delete env[key];
      Object.assign(env, actual);
    }
    logStream ??= streamName(record.functionVersion);
    try {
      return { tag: "ok", val: await dispatch(handler as Handler, event, record, logStream) };
    } catch (thrown) {
      return { tag: "err", val: toFunctionError(thrown) };
    }
  };
}

async function dispatch(handler: Handler, event: EventValue, record: ContextRecord, logStream: string): Promise<OutcomeValue> {
  const [, , , region = "us-east-1", account = "000000000000"] = record.invokedFunctionArn.split(":");
  switch (event.tag) {
    case "http": {
      const result = await call(handler, toApiGatewayEvent(event.val, record.requestId, account), record, logStream);
      return { tag: "http", val: fromApiGatewayResult(result) };
    }
    case "invoke":
      return json(await call(handler, JSON.parse(event.val.payload), record, logStream));
    case "schedule":
      return json(await call(handler, toScheduledEvent(event.val, region, account), record, logStream));
    case "queue":
      return json(await call(handler, toSqsEvent(event.val, region, account), record, logStream));
    case "storage":
      return json(await call(handler, toS3Event(event.val), record, logStream));
  }
}

/** Calls the handler, async or callback style; resolves with its result. */
function call(handler: Handler, event: unknown, record: ContextRecord, logStream: string): Promise<unknown> {
  return new Promise((resolve, reject) => {
    let settled = false;
    const settle = (error: unknown, result?: unknown) => {
      if (settled) return;
      settled = true;
      if (error !== undefined && error !== null) reject(error);
      else resolve(result);
    };
    const context = createLambdaContext(record, logStream, settle);
    try {
      const returned = handler(event, context, handler.length >= 3 ? settle : undefined);
      if (handler.length < 3 || (returned !== undefined && typeof (returned as Promise<unknown>)?.then === "function")) {
        Promise.resolve(returned).then((result) => settle(undefined, result), (error: unknown) => settle(error ?? new Error("the handler rejected")));
      }
    } catch (error) {
      settle(error ?? new Error("the handler threw"));
    }
  });
}

function createLambdaContext(record: ContextRecord, logStream: string, settle: (error: unknown, result?: unknown) => void): LambdaContext {
  const deadline = Number(record.deadlineMs);
  let clientContext: unknown;
  if (record.clientContext !== undefined) {
    try {
      clientContext = JSON.parse(record.clientContext);
    } catch {
      clientContext = undefined;
    }
  }
  return {
    callbackWaitsForEmptyEventLoop: true,
    functionName: record.functionName,
    functionVersion: record.functionVersion,
    invokedFunctionArn: record.invokedFunctionArn,
    memoryLimitInMB: String(record.memoryLimitMb),
    awsRequestId: record.requestId,
    logGroupName: `/aws/lambda/${record.functionName}`,
    logStreamName: logStream,
    identity: undefined,
    clientContext,
    getRemainingTimeInMillis: () => Math.max(0, deadline - Date.now()),
    done: (error, result) => settle(error, result),
    fail: (error) => settle(error ?? new Error("context.fail() was called")),
    succeed: (result) => settle(undefined, result),
    sendMessage,
    kv,
  };
}

function json(value: unknown): OutcomeValue {
  return { tag: "payload", val: encoder.encode(JSON.stringify(value === undefined ? null : value)) };
}

/**
 * `process.env`. `wfn build` creates it before any module runs, holding what
 * the build knew; the same object is refreshed at the first invocation.
 */
function installProcessEnv(): Record<string, string> {
  const g = globalThis as { process?: { env?: Record<string, string> } };
  g.process ??= {};
  g.process.env ??= {};
  return g.process.env;
}

/** Lambda's `YYYY/MM/DD/[version]<32 hex>`, one per instance. */
function streamName(version: string): string {
  const now = new Date();
  const date = `${now.getUTCFullYear()}/${String(now.getUTCMonth() + 1).padStart(2, "0")}/${String(now.getUTCDate()).padStart(2, "0")}`;
  return `${date}/[${version}]${crypto.randomUUID().replace(/-/g, "")}`;
}
