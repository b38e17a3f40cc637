// Headers, Request and Response for engines that have none (QuickJS): the
// parts of the Fetch standard a handler uses, with bodies held whole in
// memory (a function's request and response are read whole anyway: 6 MiB
// at most). Streams, Blob and FormData bodies are not supported here and say
// so when given.
import { TextDecoder, TextEncoder } from "./text.js";

const encoder = new TextEncoder();
const decoder = new TextDecoder();
const TOKEN = /^[!#$%&'*+\-.^_`|~0-9A-Za-z]+$/;

type HeaderPairs = Iterable<readonly [string, string]> | Record<string, string> | Headers;

function headerName(name: string): string {
  const text = String(name);
  if (!TOKEN.test(text)) throw new TypeError(`Headers: ${JSON.stringify(text)} is not a valid header name`);
  return text.toLowerCase();
}

function headerValue(value: string): string {
  const text = String(value).replace(/^[\t\n\r ]+|[\t\n\r ]+$/g, "");
  if (/[\0\r\n]/.test(text)) throw new TypeError(`Headers: ${JSON.stringify(text)} is not a valid header value`);
  return text;
}

/** A header list: names compared without case, values of a repeated name joined with ", " (except set-cookie). */
export class Headers {
  #entries: Array<[string, string]> = [];

  constructor(init?: HeaderPairs) {
    if (init === undefined || init === null) return;
    if (init instanceof Headers) {
      this.#entries = init.#entries.map(([name, value]) => [name, value]);
    } else if (typeof (init as Iterable<unknown>)[Symbol.iterator] === "function") {
      for (const pair of init as Iterable<readonly [string, string]>) {
        if (pair.length !== 2) throw new TypeError("Headers: each pair must have a name and a value");
        this.append(pair[0], pair[1]);
      }
    } else if (typeof init === "object") {
      for (const [name, value] of Object.entries(init)) this.append(name, value);
    } else {
      throw new TypeError("Headers: expected an object, an array of pairs or Headers");
    }
  }

  append(name: string, value: string): void {
    this.#entries.push([headerName(name), headerValue(value)]);
  }

  set(name: string, value: string): void {
    const key = headerName(name);
    const text = headerValue(value);
    let replaced = false;
    this.#entries = this.#entries.filter((entry) => {
      if (entry[0] !== key) return true;
      if (replaced) return false;
      entry[1] = text;
      replaced = true;
      return true;
    });
    if (!replaced) this.#entries.push([key, text]);
  }

  get(name: string): string | null {
    const key = headerName(name);
    const values = this.#entries.filter(([n]) => n === key).map(([, v]) => v);
    return values.length === 0 ? null : values.join(", ");
  }

  getSetCookie(): string[] {
    return this.#entries.filter(([n]) => n === "set-cookie").map(([, v]) => v);
  }

  has(name: string): boolean {
    const key = headerName(name);
    return this.#entries.some(([n]) => n === key);
  }

  delete(name: string): void {
    const key = headerName(name);
    this.#entries = this.#entries.filter(([n]) => n !== key);
  }

  forEach(callback: (value: string, name: string, headers: Headers) => void, thisArg?: unknown): void {
    for (const [name, value] of this) callback.call(thisArg, value, name, this);
  }

  *entries(): IterableIterator<[string, string]> {
    const names = [...new Set(this.#entries.map(([n]) => n))].sort();
    for (const name of names) {
      if (name === "set-cookie") for (const cookie of this.getSetCookie()) yield [name, cookie];
      else yield [name, this.get(name)!];
    }
  }

  *keys(): IterableIterator<string> {
    for (const [name] of this.entries()) yield name;
  }

  *values(): IterableIterator<string> {
    for (const [, value] of this.entries()) yield value;
  }

  [Symbol.iterator](): IterableIterator<[string, string]> {
    return this.entries();
  }
}

type BodySource = string | ArrayBuffer | ArrayBufferView | URLSearchParams | null | undefined;

/** A body's bytes and the content type it implies. */
function extractBody(body: BodySource, what: string): { bytes: Uint8Array | null; type: string | null } {
  if (body === null || body === undefined) return { bytes: null, type: null };
  if (typeof body === "string") return { bytes: encoder.encode(body), type: "text/plain;charset=UTF-8" };
  if (body instanceof ArrayBuffer) return { bytes: new Uint8Array(body.slice(0)), type: null };
  if (ArrayBuffer.isView(body)) return { bytes: new Uint8Array(body.buffer.slice(body.byteOffset, body.byteOffset + body.byteLength)), type: null };
  if (typeof URLSearchParams === "function" && body instanceof URLSearchParams) {
    return { bytes: encoder.encode(body.toString()), type: "application/x-www-form-urlencoded;charset=UTF-8" };
  }
  const kind = (body as object)?.constructor?.name ?? typeof body;
  throw new TypeError(`${what}: a ${kind} body is not supported on the quickjs engine (use a string, an ArrayBuffer, a typed array or URLSearchParams)`);
}

/** What Request and Response share: the body and the ways to read it (once). */
abstract class Body {
  #bytes: Uint8Array | null;
  #used = false;

  protected constructor(bytes: Uint8Array | null) {
    this.#bytes = bytes;
  }

  /** Not a ReadableStream on this engine: null when there is no body, else an object that says there is one. */
  get body(): object | null {
    return this.#bytes === null ? null : { locked: this.#used };
  }

  get bodyUsed(): boolean {
    return this.#used;
  }

  protected bytesForClone(): Uint8Array | null {
    if (this.#used) throw new TypeError(`${this.constructor.name}.clone: the body has already been read`);
    return this.#bytes === null ? null : this.#bytes.slice();
  }

  #consume(): Uint8Array {
    if (this.#used) throw new TypeError(`${this.constructor.name}: the body has already been read`);
    this.#used = true;
    return this.#bytes ?? new Uint8Array(0);
  }

  async arrayBuffer(): Promise<ArrayBuffer> {
    const bytes = this.#consume();
    return bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + bytes.byteLength) as ArrayBuffer;
  }

  async bytes(): Promise<Uint8Array> {
    return this.#consume().slice();
  }

  async text(): Promise<string> {
    return decoder.decode(this.#consume());
  }

  async json(): Promise<unknown> {
    return JSON.parse(await this.text());
  }

  async formData(): Promise<never> {
    throw new TypeError(`${this.constructor.name}.formData is not supported on the quickjs engine`);
  }

  async blob(): Promise<never> {
    throw new TypeError(`${this.constructor.name}.blob is not supported on the quickjs engine`);
  }
}

function bodyHeaders(headers: Headers, type: string | null): Headers {
  if (type !== null && !headers.has("content-type")) headers.set("content-type", type);
  return headers;
}

const METHODS = new Set(["DELETE", "GET", "HEAD", "OPTIONS", "POST", "PUT", "PATCH"]);

interface RequestOptions {
  method?: string;
  headers?: HeaderPairs;
  body?: BodySource;
  redirect?: "follow" | "manual" | "error";
  signal?: unknown;
}

/** An HTTP request. */
export class Request extends Body {
  readonly url: string;
  readonly method: string;
  readonly headers: Headers;
  readonly redirect: "follow" | "manual" | "error";
  readonly signal: unknown;

  constructor(input: string | URL | Request, init: RequestOptions = {}) {
    const from = input instanceof Request ? input : undefined;
    const rawMethod = init.method ?? from?.method ?? "GET";
    const upper = String(rawMethod).toUpperCase();
    const method = METHODS.has(upper) ? upper : String(rawMethod);
    if (!TOKEN.test(method)) throw new TypeError(`Request: ${JSON.stringify(method)} is not a valid method`);
    const given = init.body !== undefined ? extractBody(init.body, "Request") : { bytes: from === undefined ? null : from.bytesForClone(), type: null };
    if (given.bytes !== null && (method === "GET" || method === "HEAD")) throw new TypeError(`Request: a ${method} request cannot have a body`);
    super(given.bytes);
    const url = from?.url ?? String(input);
    this.url = new URL(url).href;
    this.method = method;
    this.headers = bodyHeaders(new Headers(init.headers ?? from?.headers), given.type);
    this.redirect = init.redirect ?? from?.redirect ?? "follow";
    this.signal = init.signal ?? from?.signal ?? null;
  }

  clone(): Request {
    return new Request(this.url, { method: this.method, headers: this.headers, body: this.bytesForClone(), redirect: this.redirect, signal: this.signal });
  }
}

interface ResponseOptions {
  status?: number;
  statusText?: string;
  headers?: HeaderPairs;
}

const NULL_BODY_STATUSES = new Set([101, 103, 204, 205, 304]);
const REDIRECT_STATUSES = new Set([301, 302, 303, 307, 308]);

/** An HTTP response. */
export class Response extends Body {
  readonly status: number;
  readonly statusText: string;
  readonly headers: Headers;
  readonly type: "basic" | "default" | "error" = "default";
  readonly redirected: boolean = false;
  readonly url: string = "";

  constructor(body?: BodySource, init: ResponseOptions = {}) {
    const status = init.status ?? 200;
    if (!Number.isInteger(status) || status < 200 || status > 599) throw new RangeError(`Response: the status ${status} is not between 200 and 599`);
    const given = extractBody(body, "Response");
    if (given.bytes !== null && NULL_BODY_STATUSES.has(status)) throw new TypeError(`Response: a ${status} response cannot have a body`);
    super(given.bytes);
    this.status = status;
    this.statusText = init.statusText ?? "";
    this.headers = bodyHeaders(new Headers(init.headers), given.type);
  }

  get ok(): boolean {
    return this.status >= 200 && this.status <= 299;
  }

  clone(): Response {
    return new Response(this.bytesForClone(), { status: this.status, statusText: this.statusText, headers: this.headers });
  }

  static json(data: unknown, init: ResponseOptions = {}): Response {
    const text = JSON.stringify(data);
    if (text === undefined) throw new TypeError("Response.json: the value cannot be serialised as JSON");
    const headers = new Headers(init.headers);
    if (!headers.has("content-type")) headers.set("content-type", "application/json");
    return new Response(text, { ...init, headers });
  }

  static redirect(url: string | URL, status = 302): Response {
    if (!REDIRECT_STATUSES.has(status)) throw new RangeError(`Response.redirect: ${status} is not a redirect status`);
    return new Response(null, { status, headers: { location: new URL(String(url)).href } });
  }

  static error(): Response {
    throw new TypeError("Response.error is not supported on the quickjs engine");
  }
}
