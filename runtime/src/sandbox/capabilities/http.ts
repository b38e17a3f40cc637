// wasi:http — the outgoing side, which StarlingMonkey's fetch() uses, and
// the incoming side a wasi:http/proxy component is served through (../proxy.ts).
// Whether a request may leave the sandbox is decided by an `OutboundPolicy`;
// the default refuses everything.
import type { WaitState } from "../call-state.js";
import { InputStream, IoError, OutputStream, Pollable, type ByteSink } from "./io.js";

type Method = { tag: "get" | "head" | "post" | "put" | "delete" | "connect" | "options" | "trace" | "patch" } | { tag: "other"; val: string };
type Scheme = { tag: "HTTP" | "HTTPS" } | { tag: "other"; val: string };

/** The `error-code` variant of wasi:http (the cases wfn produces). */
export type HttpErrorCode =
  | { tag: "HTTP-request-denied" }
  | { tag: "HTTP-request-URI-invalid" }
  | { tag: "DNS-error"; val: { rcode: string | undefined; infoCode: number | undefined } }
  | { tag: "connection-refused" }
  | { tag: "connection-timeout" }
  | { tag: "HTTP-request-body-size"; val: bigint | undefined }
  | { tag: "HTTP-response-body-size"; val: bigint | undefined }
  | { tag: "internal-error"; val: string | undefined };

const HEADER_ERROR_INVALID = { tag: "invalid-syntax" } as const;
const HEADER_ERROR_IMMUTABLE = { tag: "immutable" } as const;

/** `wasi:http/types.fields`: ordered, case-insensitive header fields. */
export class Fields {
  #entries: Array<[string, Uint8Array]> = [];
  #immutable = false;

  static fromList(entries: Array<[string, Uint8Array]>): Fields {
    const fields = new Fields();
    for (const [name, value] of entries) fields.append(name, value);
    return fields;
  }

  /** @internal fields the guest may read but not change (response headers). */
  static frozen(entries: Array<[string, Uint8Array]>): Fields {
    const fields = Fields.fromList(entries);
    fields.#immutable = true;
    return fields;
  }

  get(name: string): Uint8Array[] {
    const key = name.toLowerCase();
    return this.#entries.filter(([n]) => n === key).map(([, v]) => v);
  }

  has(name: string): boolean {
    const key = name.toLowerCase();
    return this.#entries.some(([n]) => n === key);
  }

  set(name: string, values: Uint8Array[]): void {
    this.#mutable();
    this.delete(name);
    for (const value of values) this.append(name, value);
  }

  delete(name: string): void {
    this.#mutable();
    const key = name.toLowerCase();
    this.#entries = this.#entries.filter(([n]) => n !== key);
  }

  append(name: string, value: Uint8Array): void {
    this.#mutable();
    if (!/^[!#$%&'*+\-.^_`|~0-9A-Za-z]+$/.test(name)) throw HEADER_ERROR_INVALID;
    this.#entries.push([name.toLowerCase(), value.slice()]);
  }

  entries(): Array<[string, Uint8Array]> {
    return this.#entries.map(([n, v]) => [n, v]);
  }

  clone(): Fields {
    return Fields.fromList(this.#entries);
  }

  #mutable(): void {
    if (this.#immutable) throw HEADER_ERROR_IMMUTABLE;
  }
}

/**
 * Collects an outgoing body's bytes, at most `limit` of them. Past the limit,
 * or once told to discard (a refused request), it keeps nothing: a guest
 * cannot grow host memory by writing. It never fails a write, because
 * StarlingMonkey aborts the whole instance on any output-stream error.
 */
class BodyBuffer implements ByteSink {
  #chunks: Uint8Array[] = [];
  #size = 0;
  #discarding = false;
  overflowed = false;
  /** Called once, on the write that goes past the limit. */
  onOverflow: (() => void) | undefined;

  constructor(readonly limit: number) {}

  /** Bytes the guest wrote, kept or not. */
  written = 0;

  write(bytes: Uint8Array): void {
    this.written += bytes.byteLength;
    if (this.#discarding) return;
    if (this.#size + bytes.byteLength > this.limit) {
      this.discard();
      this.overflowed = true;
      this.onOverflow?.();
      return;
    }
    this.#chunks.push(bytes.slice());
    this.#size += bytes.byteLength;
  }

  /** Drops what was kept, and everything written from now on. */
  discard(): void {
    this.#discarding = true;
    this.#chunks = [];
    this.#size = 0;
  }

  bytes(): Uint8Array {
    return Buffer.concat(this.#chunks);
  }
}

/** `wasi:http/types.outgoing-body`. */
export class OutgoingBody {
  readonly #buffer: BodyBuffer;
  #stream: OutputStream | undefined;
  finished = false;
  /** @internal called once when the body is finished. */
  onFinish: (() => void) | undefined;

  /** @internal bodies are made by {@link OutgoingRequest.body}. */
  constructor(maxBytes: number) {
    this.#buffer = new BodyBuffer(maxBytes);
  }

  write(): OutputStream {
    if (this.#stream !== undefined) throw undefined;
    this.#stream = new OutputStream(this.#buffer);
    return this.#stream;
  }

  static finish(body: OutgoingBody, _trailers: Fields | undefined): void {
    body.#stream?.close();
    body.finished = true;
    body.onFinish?.();
  }

  /** @internal */
  get buffer(): BodyBuffer {
    return this.#buffer;
  }
}

/** `wasi:http/types.outgoing-request`. */
export class OutgoingRequest {
  readonly #headers: Fields;
  #method: Method = { tag: "get" };
  #scheme: Scheme | undefined;
  #authority: string | undefined;
  #pathWithQuery: string | undefined;
  #body: OutgoingBody | undefined;
  readonly #maxBodyBytes: number;

  /** `maxBodyBytes`: the body kept at most (instances get a subclass that sets it, see {@link httpImports}). */
  constructor(headers: Fields, maxBodyBytes = Infinity) {
    this.#headers = headers;
    this.#maxBodyBytes = maxBodyBytes;
  }
  body(): OutgoingBody {
    if (this.#body !== undefined) throw undefined;
    return (this.#body = new OutgoingBody(this.#maxBodyBytes));
  }
  method(): Method {
    return this.#method;
  }
  setMethod(method: Method): void {
    this.#method = method;
  }
  pathWithQuery(): string | undefined {
    return this.#pathWithQuery;
  }
  setPathWithQuery(path: string | undefined): void {
    this.#pathWithQuery = path;
  }
  scheme(): Scheme | undefined {
    return this.#scheme;
  }
  setScheme(scheme: Scheme | undefined): void {
    this.#scheme = scheme;
  }
  authority(): string | undefined {
    return this.#authority;
  }
  setAuthority(authority: string | undefined): void {
    this.#authority = authority;
  }
  headers(): Fields {
    return this.#headers;
  }

  /**
   * @internal runs `send` once the request is complete: at once when it has
   * no body, otherwise when the guest finishes writing the body
   * (StarlingMonkey hands the request over before it writes the body). Runs
   * `overflow` instead, as soon as the body is larger than the limit.
   */
  whenComplete(send: () => void, overflow: () => void): void {
    const body = this.#body;
    if (body?.buffer.overflowed) return overflow();
    if (body === undefined || body.finished) return send();
    body.onFinish = () => {
      if (!body.buffer.overflowed) send();
    };
    body.buffer.onOverflow = overflow;
  }

  /** @internal keeps none of the body (the request will not be sent). */
  discardBody(): void {
    this.#body?.buffer.discard();
  }

  /** @internal the request's target, for policy and transport. */
  describe(): { method: string; url: string; headers: Fields } {
    const scheme = this.#scheme === undefined ? "https" : this.#scheme.tag === "other" ? this.#scheme.val : this.#scheme.tag.toLowerCase();
    const method = this.#method.tag === "other" ? this.#method.val : this.#method.tag.toUpperCase();
    return { method, url: `${scheme}://${this.#authority ?? ""}${this.#pathWithQuery ?? "/"}`, headers: this.#headers };
  }

  /** @internal the body written so far. */
  bodyBytes(): Uint8Array {
    return this.#body?.buffer.bytes() ?? new Uint8Array(0);
  }
}

/** `wasi:http/types.request-options`: timeouts the guest may set. */
export class RequestOptions {
  #connectTimeout: bigint | undefined;
  #firstByteTimeout: bigint | undefined;
  #betweenBytesTimeout: bigint | undefined;
  connectTimeout() {
    return this.#connectTimeout;
  }
  setConnectTimeout(ns: bigint | undefined) {
    this.#connectTimeout = ns;
  }
  firstByteTimeout() {
    return this.#firstByteTimeout;
  }
  setFirstByteTimeout(ns: bigint | undefined) {
    this.#firstByteTimeout = ns;
  }
  betweenBytesTimeout() {
    return this.#betweenBytesTimeout;
  }
  setBetweenBytesTimeout(ns: bigint | undefined) {
    this.#betweenBytesTimeout = ns;
  }
}

/** `wasi:http/types.incoming-body`. */
export class IncomingBody {
  readonly #bytes: Uint8Array;
  #taken = false;
  constructor(bytes: Uint8Array) {
    this.#bytes = bytes;
  }
  stream(): InputStream {
    if (this.#taken) throw undefined;
    this.#taken = true;
    return new InputStream(this.#bytes);
  }
  static finish(_body: IncomingBody): FutureTrailers {
    return new FutureTrailers();
  }
}

/** `wasi:http/types.future-trailers` (wfn never has trailers). */
export class FutureTrailers {
  subscribe(): Pollable {
    return Pollable.ready();
  }
  get() {
    return { tag: "ok", val: { tag: "ok", val: undefined } };
  }
}

/** What an incoming request and an incoming response share: immutable headers and a body that may be taken once. */
abstract class IncomingMessage {
  readonly #headers: Fields;
  readonly #body: IncomingBody;
  #consumed = false;
  constructor(headers: Array<[string, Uint8Array]>, body: Uint8Array) {
    this.#headers = Fields.frozen(headers);
    this.#body = new IncomingBody(body);
  }
  headers(): Fields {
    return this.#headers;
  }
  consume(): IncomingBody {
    if (this.#consumed) throw undefined;
    this.#consumed = true;
    return this.#body;
  }
}

/** `wasi:http/types.incoming-response`. */
export class IncomingResponse extends IncomingMessage {
  readonly #status: number;
  constructor(status: number, headers: Array<[string, Uint8Array]>, body: Uint8Array) {
    super(headers, body);
    this.#status = status;
  }
  status(): number {
    return this.#status;
  }
}

/** What a transport eventually settles a request with. */
export type TransportResult = { ok: IncomingResponse } | { error: HttpErrorCode };

/** `wasi:http/types.future-incoming-response`: settled now, or once the transport answers. */
export class FutureIncomingResponse {
  #result: TransportResult | undefined;
  #taken = false;
  readonly #pending: Promise<unknown> | undefined;
  readonly #state: WaitState | undefined;

  constructor(result: TransportResult | Promise<TransportResult>, state?: WaitState) {
    if (result instanceof Promise) {
      this.#pending = result.then((settled) => (this.#result = settled));
      this.#state = state;
    } else {
      this.#result = result;
    }
  }
  static settled(result: TransportResult): FutureIncomingResponse {
    return new FutureIncomingResponse(result);
  }
  subscribe(): Pollable {
    return this.#result !== undefined || this.#pending === undefined || this.#state === undefined ? Pollable.ready() : Pollable.when(this.#pending, this.#state);
  }
  get() {
    const result = this.#result;
    if (result === undefined) return undefined;
    if (this.#taken) return { tag: "err", val: undefined };
    this.#taken = true;
    return { tag: "ok", val: "ok" in result ? { tag: "ok", val: result.ok } : { tag: "err", val: result.error } };
  }
}

const METHODS = new Set(["get", "head", "post", "put", "delete", "connect", "options", "trace", "patch"]);

/** The request a `wasi:http/proxy` component is handed (see ../proxy.ts). */
export interface ProxyRequest {
  method: string;
  url: string;
  headers: ReadonlyArray<readonly [string, string]>;
  body: Uint8Array;
}

/** `wasi:http/types.incoming-request`: what a wasi:http/proxy component's handler reads. */
export class IncomingRequest extends IncomingMessage {
  readonly #method: Method;
  readonly #scheme: Scheme;
  readonly #authority: string;
  readonly #pathWithQuery: string;

  constructor(request: ProxyRequest) {
    const encoder = new TextEncoder();
    super(
      request.headers.map(([name, value]) => [name, encoder.encode(value)]),
      request.body,
    );
    const lower = request.method.toLowerCase();
    this.#method = METHODS.has(lower) ? ({ tag: lower } as Method) : { tag: "other", val: request.method };
    const url = new URL(request.url);
    this.#scheme = url.protocol === "https:" ? { tag: "HTTPS" } : { tag: "HTTP" };
    this.#authority = url.host;
    this.#pathWithQuery = `${url.pathname}${url.search}`;
  }
  method(): Method {
    return this.#method;
  }
  pathWithQuery(): string | undefined {
    return this.#pathWithQuery;
  }
  scheme(): Scheme | undefined {
    return this.#scheme;
  }
  authority(): string | undefined {
    return this.#authority;
  }
}

/** `wasi:http/types.outgoing-response`: what a proxy component answers; its body is kept up to a limit. */
export class OutgoingResponse {
  #status = 200;
  readonly #headers: Fields;
  #body: OutgoingBody | undefined;
  readonly #maxBodyBytes: number;

  /** `maxBodyBytes`: see {@link httpImports}, which gives instances a subclass that sets it. */
  constructor(headers: Fields, maxBodyBytes = Infinity) {
    this.#headers = headers;
    this.#maxBodyBytes = maxBodyBytes;
  }
  statusCode(): number {
    return this.#status;
  }
  setStatusCode(status: number): void {
    if (!Number.isInteger(status) || status < 100 || status > 599) throw undefined;
    this.#status = status;
  }
  headers(): Fields {
    return this.#headers;
  }
  body(): OutgoingBody {
    if (this.#body !== undefined) throw undefined;
    return (this.#body = new OutgoingBody(this.#maxBodyBytes));
  }

  /** @internal the answer as the host returns it, or why it cannot be returned. */
  settle(): { ok: { status: number; headers: Array<[string, string]>; body: Uint8Array } } | { error: string } | { tooLarge: string } {
    const body = this.#body;
    if (body?.buffer.overflowed) {
      return { tooLarge: `Response payload size exceeded maximum allowed payload size (${this.#maxBodyBytes} bytes): the function wrote ${body.buffer.written} bytes of body` };
    }
    if (body !== undefined && !body.finished) return { error: "the handler returned before it finished the response body (outgoing-body.finish was not called)" };
    const decoder = new TextDecoder();
    const headers = this.#headers.entries().map(([name, value]): [string, string] => [name, decoder.decode(value)]);
    return { ok: { status: this.#status, headers, body: body?.buffer.bytes() ?? new Uint8Array(0) } };
  }
}

/** `wasi:http/types.response-outparam`: where a proxy component's handler sets its answer, once. */
export class ResponseOutparam {
  /** @internal what the handler set: a response, or an error code. */
  result: { response: OutgoingResponse } | { error: HttpErrorCode } | undefined;

  static set(param: ResponseOutparam, response: { tag: "ok"; val: OutgoingResponse } | { tag: "err"; val: HttpErrorCode }): void {
    if (param.result !== undefined) return;
    param.result = response.tag === "ok" ? { response: response.val } : { error: response.val };
  }
}

/** Decides the fate of each outgoing request. */
export type OutboundHandler = (request: OutgoingRequest) => FutureIncomingResponse;

/**
 * The wasi:http imports of one instance: `outbound` decides each request;
 * request bodies are kept up to `maxRequestBodyBytes` (the rest is discarded
 * and `outbound`'s request sees the overflow); a proxy component's response
 * body up to `maxResponseBodyBytes`.
 */
export function httpImports(outbound: OutboundHandler, maxRequestBodyBytes: number, maxResponseBodyBytes = Infinity) {
  // A subclass per instance, so a body is bounded from its first write, whatever order the guest calls in.
  const InstanceOutgoingRequest: typeof OutgoingRequest = class extends OutgoingRequest {
    constructor(headers: Fields) {
      super(headers, maxRequestBodyBytes);
    }
  };
  const InstanceOutgoingResponse: typeof OutgoingResponse = class extends OutgoingResponse {
    constructor(headers: Fields) {
      super(headers, maxResponseBodyBytes);
    }
  };
  return {
    "wasi:http/types": {
      Fields,
      FutureIncomingResponse,
      FutureTrailers,
      IncomingBody,
      IncomingRequest,
      IncomingResponse,
      OutgoingBody,
      OutgoingRequest: InstanceOutgoingRequest,
      OutgoingResponse: InstanceOutgoingResponse,
      RequestOptions,
      ResponseOutparam,
      httpErrorCode: (_error: IoError) => undefined,
    },
    "wasi:http/outgoing-handler": {
      handle: (request: OutgoingRequest, _options: RequestOptions | undefined) => outbound(request),
    },
  };
}
