// The AWS Lambda Invoke API (`POST /2015-03-31/functions/{FunctionName}/invocations`),
// so the AWS SDK, the AWS CLI and existing tools can invoke wfn functions.
// Translation only: the host runs the invocation. Wire formats follow
// shared/reference/aws-lambda-compat.md.
import type { Context, Hono } from "hono";
import type { HttpResponseRecord } from "@wfn/sdk/abi";
import { FUNCTION_NAME } from "../config/names.js";
import { asWfnError, WfnError } from "../errors.js";
import { lambdaErrorPayload, type InvocationResult } from "../invocation.js";
import { readChunks } from "../http/body.js";

/** Refuses bytes that are not UTF-8 (non-streaming use keeps no state between calls). */
const strictUtf8 = new TextDecoder("utf-8", { fatal: true });

/** What the API needs from the host. */
export interface LambdaApiHost {
  dispatchInvoke(name: string, payload: string, options: { requestId: string; qualifier: string | undefined; clientContext: string | undefined }): Promise<InvocationResult>;
  /** Checks that a function (and qualifier) exists, throwing WFN_FUNCTION_NOT_FOUND otherwise. */
  resolve(name: string, qualifier: string | undefined): void;
  /** Why the caller may not invoke the function (checked before whether it exists), or undefined if it may. */
  authorize(c: Context, name: string, qualifier: string | undefined): WfnError | undefined;
  /** Stores an asynchronous invocation; resolves once it is stored. */
  invokeAsync(name: string, payload: string, requestId: string, qualifier: string | undefined): Promise<void>;
  readonly maxRequestBytes: number;
  readonly maxAsyncPayloadBytes: number;
}

/** The most of the log `X-Amz-Log-Result` carries. */
const TAIL_BYTES = 4096;

const QUALIFIER = "\\$LATEST|[a-zA-Z0-9-_]{1,128}";
/** What Lambda accepts as the Qualifier parameter. */
const QUALIFIER_PARAM = /^[a-zA-Z0-9$_-]{1,128}$/;
const FORMS = [
  new RegExp(`^arn:aws[a-zA-Z-]*:lambda:[a-z0-9-]+:\\d{12}:function:(${FUNCTION_NAME})(?::(${QUALIFIER}))?$`),
  new RegExp(`^\\d{12}:function:(${FUNCTION_NAME})(?::(${QUALIFIER}))?$`),
  new RegExp(`^(${FUNCTION_NAME})(?::(${QUALIFIER}))?$`),
];

/** Reads a FunctionName path label (name, name:qualifier, full or partial ARN) and the Qualifier parameter. */
export function parseFunctionName(label: string, qualifierParam: string | undefined): { name: string; qualifier: string | undefined } {
  if (qualifierParam !== undefined && !QUALIFIER_PARAM.test(qualifierParam)) {
    throw new WfnError(
      "WFN_VALIDATION",
      `1 validation error detected: Value '${qualifierParam.slice(0, 128)}' at 'qualifier' failed to satisfy constraint: Member must satisfy regular expression pattern: (|[a-zA-Z0-9$_-]+) and have length at most 128`,
    );
  }
  for (const form of FORMS) {
    const match = form.exec(label);
    if (match === null) continue;
    const [, name, derived] = match;
    if (derived !== undefined && qualifierParam !== undefined && qualifierParam !== derived) {
      throw new WfnError("WFN_INVALID_CONFIG", "The derived qualifier from the function name does not match the specified qualifier.");
    }
    return { name: name!, qualifier: derived ?? qualifierParam };
  }
  throw new WfnError("WFN_VALIDATION", `1 validation error detected: Value '${label}' at 'functionName' failed to satisfy constraint: Member must satisfy regular expression pattern: (arn:(aws[a-zA-Z-]*)?:lambda:)?([a-z]{2}(-gov)?-[a-z]+-\\d{1}:)?(\\d{12}:)?(function:)?([a-zA-Z0-9-_\\.]+)(:(\\$LATEST|[a-zA-Z0-9-_]+))?`);
}

/** Mounts the Invoke API on a host's app. */
export function mountLambdaApi(app: Hono<{ Variables: { requestId: string } }>, host: LambdaApiHost): void {
  app.post("/2015-03-31/functions/:name/invocations", async (c) => {
    const requestId = c.get("requestId");
    try {
      const { name, qualifier } = parseFunctionName(c.req.param("name"), c.req.query("Qualifier"));
      const type = c.req.header("x-amz-invocation-type") ?? "RequestResponse";
      if (type !== "RequestResponse" && type !== "Event" && type !== "DryRun") {
        throw new WfnError("WFN_VALIDATION", `1 validation error detected: Value '${type}' at 'invocationType' failed to satisfy constraint: Member must satisfy enum value set: [Event, RequestResponse, DryRun]`);
      }
      const denied = host.authorize(c, name, qualifier);
      if (denied !== undefined) throw denied;
      const payload = await readPayload(c, type === "Event" ? host.maxAsyncPayloadBytes : host.maxRequestBytes, type);
      host.resolve(name, qualifier);
      if (type === "DryRun") return c.body(null, 204, { "x-amzn-requestid": requestId });
      if (type === "Event") {
        await host.invokeAsync(name, payload, requestId, qualifier);
        return c.body(null, 202, { "x-amzn-requestid": requestId });
      }
      const result = await host.dispatchInvoke(name, payload, { requestId, qualifier, clientContext: clientContext(c) });
      const headers: Record<string, string> = {
        "content-type": "application/json",
        "x-amzn-requestid": requestId,
        "x-amz-executed-version": result.functionVersion,
      };
      if (c.req.header("x-amz-log-type") === "Tail") headers["x-amz-log-result"] = tail(result.log);
      if (result.status !== "ok") headers["x-amz-function-error"] = "Unhandled";
      return new Response(resultBody(result) as BodyInit, { status: 200, headers });
    } catch (error) {
      return serviceError(asWfnError(error), requestId);
    }
  });
  app.all("/2015-03-31/*", (c) => serviceError(new WfnError("WFN_UNKNOWN_OPERATION", `no such operation: ${c.req.method} ${c.req.path}`), c.get("requestId")));
}

async function readPayload(c: Context, limit: number, type: string): Promise<string> {
  const tooLarge = (size: number) =>
    new WfnError(
      "WFN_PAYLOAD_TOO_LARGE",
      type === "Event"
        ? `${size} byte payload is too large for the Event invocation type (limit ${limit} bytes)`
        : `Request must be smaller than ${limit} bytes for the InvokeFunction operation`,
    );
  const declared = Number(c.req.header("content-length") ?? "0");
  if (declared > limit) throw tooLarge(declared);
  const body = c.req.raw.body;
  const bytes = body === null ? new Uint8Array(0) : await readChunks(body, limit, tooLarge);
  if (bytes.byteLength === 0) return "{}";
  let text: string;
  try {
    text = strictUtf8.decode(bytes);
    JSON.parse(text);
  } catch (error) {
    throw new WfnError("WFN_INVALID_REQUEST", `Could not parse request body into json: Could not parse payload into json: ${(error as Error).message}`);
  }
  return text;
}

function clientContext(c: Context): string | undefined {
  const header = c.req.header("x-amz-client-context");
  if (header === undefined || header === "") return undefined;
  try {
    const text = Buffer.from(header, "base64").toString("utf8");
    JSON.parse(text);
    return text;
  } catch {
    throw new WfnError("WFN_INVALID_REQUEST", "X-Amz-Client-Context must be base64-encoded JSON");
  }
}

/** The last 4 KB of the log, base64. */
function tail(log: string): string {
  const bytes = Buffer.from(log, "utf8");
  return bytes.subarray(Math.max(0, bytes.byteLength - TAIL_BYTES)).toString("base64");
}

/** The Invoke response body: the function's result, or Lambda's error object (`errorType`, `errorMessage`, `trace`). */
export function resultBody(result: InvocationResult): Uint8Array {
  switch (result.status) {
    case "ok":
      if (result.outcome.tag === "payload") return result.outcome.val;
      return Buffer.from(JSON.stringify(apiGatewayResult(result.outcome.val)));
    case "error":
    case "failed":
      return Buffer.from(JSON.stringify(lambdaErrorPayload(result)));
  }
}

/** A web-style function's HTTP response, as an API Gateway 2.0 result (what Lambda would return). */
function apiGatewayResult(response: HttpResponseRecord) {
  const headers: Record<string, string> = {};
  const cookies: string[] = [];
  for (const [name, value] of response.headers) {
    if (name === "set-cookie") cookies.push(value);
    else headers[name] = headers[name] === undefined ? value : `${headers[name]}, ${value}`;
  }
  let body: string;
  let isBase64Encoded = false;
  try {
    body = strictUtf8.decode(response.body);
  } catch {
    body = Buffer.from(response.body).toString("base64");
    isBase64Encoded = true;
  }
  return { statusCode: response.status, headers, ...(cookies.length > 0 ? { cookies } : {}), body, isBase64Encoded };
}

/** A control-plane error as the AWS SDK reads it: `x-amzn-ErrorType` plus a JSON body. */
function serviceError(error: WfnError, requestId: string): Response {
  const body: Record<string, unknown> = { Type: error.fault === "server" ? "Service" : "User", message: error.message, Message: error.message };
  const headers: Record<string, string> = { ...error.headers, "content-type": "application/json", "x-amzn-errortype": error.lambdaType, "x-amzn-requestid": requestId };
  if (error.code === "WFN_THROTTLED") body.Reason = (error.details.reason as string | undefined) ?? "ReservedFunctionConcurrentInvocationLimitExceeded";
  return new Response(JSON.stringify(body), { status: error.status, headers });
}
