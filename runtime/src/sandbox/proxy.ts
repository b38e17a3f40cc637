// Serving a standard `wasi:http/proxy` component (one that exports
// wasi:http/incoming-handler, as Spin's SDKs, componentize-js and
// cargo-component build them) through the same `handle(event, context)`
// the wfn world exports: an HTTP event becomes its incoming-request, a
// direct invocation a `POST /` with the payload as a JSON body, and the
// response the handler sets becomes the outcome. Everything around the call
// (pooling, limits, logs, metrics) is the same for both worlds.
import type { ContextRecord, EventValue, FunctionErrorRecord, OutcomeValue } from "@wfn/sdk/abi";
import { IncomingRequest, ResponseOutparam, type HttpErrorCode, type ProxyRequest } from "./capabilities/http.js";
import { errorKind } from "../errors.js";

/** What jco's glue exports for a component that exports wasi:http/incoming-handler. */
export interface IncomingHandlerExport {
  handle(request: IncomingRequest, response: ResponseOutparam): Promise<void>;
}

/** Finds the incoming-handler among a glue's exports (any 0.2.x version). */
export function incomingHandlerOf(exports: Record<string, unknown>): IncomingHandlerExport | undefined {
  const handler = exports.incomingHandler ?? Object.entries(exports).find(([name]) => /^wasi:http\/incoming-handler@0\.2\./.test(name))?.[1];
  return typeof (handler as IncomingHandlerExport | undefined)?.handle === "function" ? (handler as IncomingHandlerExport) : undefined;
}

/** The request a proxy component is given for an event; events that are not HTTP are refused. */
export function proxyRequest(event: EventValue): ProxyRequest {
  switch (event.tag) {
    case "http":
      return event.val;
    case "invoke":
      return { method: "POST", url: "http://localhost/", headers: [["content-type", "application/json"]], body: new TextEncoder().encode(event.val.payload) };
    default:
      throw shapeError(`a wasi:http/proxy component handles HTTP requests and direct invocations only, not ${event.tag} events`);
  }
}

/** `handle(event, context)` for a proxy component: one HTTP exchange per invocation. */
export function proxyHandle(handler: IncomingHandlerExport, create: (request: ProxyRequest) => IncomingRequest = (request) => new IncomingRequest(request)) {
  return async (event: EventValue, _context: ContextRecord): Promise<OutcomeValue> => {
    const request = create(proxyRequest(event));
    const out = new ResponseOutparam();
    await handler.handle(request, out);
    const result = out.result;
    if (result === undefined) throw shapeError("the handler returned without setting a response (response-outparam.set was not called)");
    if ("error" in result) throw handlerError(result.error);
    const settled = result.response.settle();
    if ("error" in settled) throw shapeError(settled.error);
    // The same error the host gives any function whose answer is over maxResponseBytes (invoke/classify.ts).
    if ("tooLarge" in settled) throw { errorType: errorKind("WFN_RESPONSE_TOO_LARGE").lambdaType, message: settled.tooLarge, stack: undefined } satisfies FunctionErrorRecord;
    return { tag: "http", val: settled.ok };
  };
}

function shapeError(message: string): FunctionErrorRecord {
  return { errorType: "Runtime.InvalidResponse", message, stack: undefined };
}

function handlerError(code: HttpErrorCode): FunctionErrorRecord {
  const detail = "val" in code && code.val !== undefined ? `: ${typeof code.val === "object" ? JSON.stringify(code.val) : String(code.val)}` : "";
  return { errorType: "Runtime.HandlerError", message: `the handler answered with the error ${code.tag}${detail}`, stack: undefined };
}
