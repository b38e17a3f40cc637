// HTTP for Lambda-style handlers: the world's request record becomes an
// API Gateway HTTP API (payload format 2.0) event, and the handler's result
// follows API Gateway's 2.0 rules on the way back.
import type { Fields, HttpRequestRecord, HttpResponseRecord } from "../abi.js";

/** The event shape of `APIGatewayProxyEventV2` (@types/aws-lambda). */
export interface ApiGatewayV2Event {
  version: "2.0";
  routeKey: string;
  rawPath: string;
  rawQueryString: string;
  cookies?: string[];
  headers: Record<string, string>;
  queryStringParameters?: Record<string, string>;
  pathParameters?: Record<string, string>;
  requestContext: {
    accountId: string;
    apiId: string;
    domainName: string;
    domainPrefix: string;
    http: { method: string; path: string; protocol: string; sourceIp: string; userAgent: string };
    requestId: string;
    routeKey: string;
    stage: string;
    time: string;
    timeEpoch: number;
  };
  body?: string;
  isBase64Encoded: boolean;
}

const TEXT_TYPE = /^(text\/|application\/(json|[\w.+-]*\+json|xml|[\w.+-]*\+xml|javascript|x-www-form-urlencoded|graphql))/i;
const MONTHS = ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"];
const utf8 = new TextDecoder("utf-8", { fatal: true });
const encoder = new TextEncoder();

/** `GET /items/:id` → `GET /items/{id}`; `/api/*` → `ANY /api/{proxy+}` (API Gateway's route syntax). */
export function routeKeyOf(key: string | undefined): string {
  if (key === undefined) return "$default";
  const parts = key.trim().split(/\s+/);
  const [method, path] = parts.length === 2 ? [parts[0]!.toUpperCase(), parts[1]!] : ["ANY", parts[0]!];
  return `${method} ${path.replace(/:(\w+)(\{[^}]*\})?/g, "{$1}").replace(/\*$/, "{proxy+}")}`;
}

/** Builds the API Gateway v2 event for a request. */
export function toApiGatewayEvent(record: HttpRequestRecord, requestId: string, accountId: string): ApiGatewayV2Event {
  const url = new URL(record.url);
  const headers: Record<string, string> = {};
  const cookies: string[] = [];
  for (const [rawName, value] of record.headers) {
    const name = rawName.toLowerCase();
    if (name === "cookie") {
      for (const cookie of value.split(/;\s*/)) if (cookie !== "") cookies.push(cookie);
      continue;
    }
    headers[name] = headers[name] === undefined ? value : `${headers[name]},${value}`;
  }
  const query: Record<string, string> = {};
  for (const [key, value] of url.searchParams) query[key] = query[key] === undefined ? value : `${query[key]},${value}`;
  const routeKey = routeKeyOf(record.route?.key);
  const now = Date.now();
  const event: ApiGatewayV2Event = {
    version: "2.0",
    routeKey,
    rawPath: url.pathname,
    rawQueryString: url.search.slice(1),
    headers,
    requestContext: {
      accountId,
      apiId: "wfn",
      domainName: url.host,
      domainPrefix: url.hostname.split(".")[0] ?? url.hostname,
      http: {
        method: record.method,
        path: url.pathname,
        protocol: "HTTP/1.1",
        sourceIp: record.remoteAddress ?? "",
        userAgent: headers["user-agent"] ?? "",
      },
      requestId,
      routeKey,
      stage: "$default",
      time: clfTime(new Date(now)),
      timeEpoch: now,
    },
    isBase64Encoded: false,
  };
  if (cookies.length > 0) event.cookies = cookies;
  if (Object.keys(query).length > 0) event.queryStringParameters = query;
  if (record.route !== undefined && record.route.params.length > 0) event.pathParameters = Object.fromEntries(record.route.params);
  if (record.body.byteLength > 0) {
    const text = asText(record.body, headers["content-type"]);
    if (text !== undefined) event.body = text;
    else {
      event.body = toBase64(record.body);
      event.isBase64Encoded = true;
    }
  }
  return event;
}

/** Applies API Gateway's 2.0 rules to what a Lambda-style handler returned. */
export function fromApiGatewayResult(result: unknown): HttpResponseRecord {
  if (result === null || typeof result !== "object" || Array.isArray(result) || !("statusCode" in result)) {
    return {
      status: 200,
      headers: [["content-type", "application/json"]],
      body: encoder.encode(result === undefined ? "" : JSON.stringify(result)),
    };
  }
  const structured = result as {
    statusCode: number | string;
    headers?: Record<string, unknown>;
    multiValueHeaders?: Record<string, unknown[]>;
    cookies?: unknown[];
    body?: unknown;
    isBase64Encoded?: boolean;
  };
  const headers: Fields = [];
  for (const [name, value] of Object.entries(structured.headers ?? {})) {
    if (value !== undefined && value !== null) headers.push([name.toLowerCase(), String(value)]);
  }
  for (const [name, values] of Object.entries(structured.multiValueHeaders ?? {})) {
    for (const value of values ?? []) headers.push([name.toLowerCase(), String(value)]);
  }
  for (const cookie of structured.cookies ?? []) headers.push(["set-cookie", String(cookie)]);
  const body =
    structured.body === undefined || structured.body === null
      ? new Uint8Array(0)
      : structured.isBase64Encoded
        ? fromBase64(String(structured.body))
        : encoder.encode(typeof structured.body === "string" ? structured.body : JSON.stringify(structured.body));
  return { status: Number(structured.statusCode), headers, body };
}

function asText(body: Uint8Array, contentType: string | undefined): string | undefined {
  if (contentType !== undefined && !TEXT_TYPE.test(contentType)) return undefined;
  try {
    return utf8.decode(body);
  } catch {
    return undefined;
  }
}

/** `12/Mar/2020:19:03:58 +0000`, as API Gateway writes requestContext.time. */
function clfTime(date: Date): string {
  const pad = (n: number) => String(n).padStart(2, "0");
  return `${pad(date.getUTCDate())}/${MONTHS[date.getUTCMonth()]}/${date.getUTCFullYear()}:${pad(date.getUTCHours())}:${pad(date.getUTCMinutes())}:${pad(date.getUTCSeconds())} +0000`;
}

/** Bytes per `String.fromCharCode` call: well under any engine's argument limit. */
const CHUNK = 0x8000;

/** The engine's own base64 (`Uint8Array.prototype.toBase64` where it has it, else `btoa`): a loop over bytes in the guest costs seconds per megabyte. */
export function toBase64(bytes: Uint8Array): string {
  const native = (bytes as Uint8Array & { toBase64?: () => string }).toBase64;
  if (typeof native === "function") return native.call(bytes);
  let binary = "";
  for (let i = 0; i < bytes.length; i += CHUNK) binary += String.fromCharCode(...bytes.subarray(i, i + CHUNK));
  return btoa(binary);
}

/**
 * Decodes base64 or base64url, leniently as before: characters outside both
 * alphabets (whitespace, padding) are skipped, and a last lone character,
 * which holds no whole byte, is dropped.
 */
export function fromBase64(text: string): Uint8Array {
  let clean = text.replace(/[^A-Za-z0-9+/_-]/g, "").replace(/-/g, "+").replace(/_/g, "/");
  if (clean.length % 4 === 1) clean = clean.slice(0, -1);
  const native = (Uint8Array as unknown as { fromBase64?: (text: string, options: { lastChunkHandling: string }) => Uint8Array }).fromBase64;
  if (typeof native === "function") return native(clean, { lastChunkHandling: "loose" });
  const binary = atob(clean);
  const out = new Uint8Array(binary.length);
  for (let i = 0; i < binary.length; i++) out[i] = binary.charCodeAt(i);
  return out;
}
