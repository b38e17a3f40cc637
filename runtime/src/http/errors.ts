// Error answers on HTTP, rendered from the closed error table in
// ../errors.ts: the status, the Lambda error type and the headers (such as
// `Retry-After`) come from the error's code and nowhere else.
import type { FunctionErrorRecord } from "@wfn/sdk/abi";
import { errorKind, WfnError } from "../errors.js";

/** The JSON error body every failed request gets: `{ errorType, errorMessage, requestId }`. */
export function errorResponse(error: WfnError, requestId: string): Response {
  return jsonError(error.status, { errorType: error.lambdaType, errorMessage: error.message, requestId }, { ...error.headers, "x-wfn-request-id": requestId });
}

/** A function whose code threw, on an HTTP route: WFN_FUNCTION_ERROR's status, with the function's own error type. */
export function functionErrorResponse(error: FunctionErrorRecord, requestId: string): Response {
  return jsonError(errorKind("WFN_FUNCTION_ERROR").status, { errorType: error.errorType, errorMessage: error.message, requestId }, { "x-wfn-request-id": requestId });
}

function jsonError(status: number, body: Record<string, unknown>, headers: Record<string, string>): Response {
  return new Response(JSON.stringify(body), { status, headers: { "content-type": "application/json", ...headers } });
}
