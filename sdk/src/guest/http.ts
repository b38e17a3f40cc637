// Converts between the world's HTTP records and web-standard Request/Response.
import type { Fields, HttpRequestRecord, HttpResponseRecord } from "../abi.js";
import { FunctionShapeError } from "./errors.js";

const NO_BODY_METHODS = new Set(["GET", "HEAD"]);

/** Builds the web-standard Request a `fetch` handler receives. */
export function toRequest(record: HttpRequestRecord): Request {
  const headers = new Headers();
  for (const [name, value] of record.headers) headers.append(name, value);
  const init: RequestInit = { method: record.method, headers };
  if (record.body.byteLength > 0 && !NO_BODY_METHODS.has(record.method)) init.body = record.body as Uint8Array<ArrayBuffer>;
  return new Request(record.url, init);
}

/** Reads a Response into the world's response record, keeping repeated `set-cookie` headers apart. */
export async function fromResponse(response: unknown): Promise<HttpResponseRecord> {
  if (!(response instanceof Response)) {
    throw new FunctionShapeError(`fetch() must return a Response, got ${describe(response)}`);
  }
  const headers: Fields = [];
  for (const [name, value] of response.headers) {
    if (name !== "set-cookie") headers.push([name, value]);
  }
  for (const cookie of setCookies(response.headers)) headers.push(["set-cookie", cookie]);
  const body = response.body === null ? new Uint8Array(0) : new Uint8Array(await response.arrayBuffer());
  return { status: response.status, headers, body };
}

function setCookies(headers: Headers): string[] {
  if (typeof headers.getSetCookie === "function") return headers.getSetCookie();
  const joined = headers.get("set-cookie");
  return joined === null ? [] : [joined];
}

function describe(value: unknown): string {
  if (value === null) return "null";
  if (typeof value === "object") return (value as object).constructor?.name ?? "an object";
  return typeof value;
}
