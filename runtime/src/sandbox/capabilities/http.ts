// wasi:http — the outgoing side, which StarlingMonkey's fetch() uses.
// Whether a request may leave the sandbox is decided by an `OutboundPolicy`;
// the default refuses everything.
import { InputStream, IoError, OutputStream, Pollable, type ByteSink } from "./io.js";

type Method = { tag: "get" | "head" | "post" | "put" | "delete" | "connect" | "options" | "trace" | "patch" } | { tag: "other"; val: string };
type Scheme = { tag: "HTTP" | "HTTPS" } | { tag: "other"; val: string };

/** The `error-code` variant of wasi:http (the cases wfn produces). */
export type HttpErrorCode =
  | { tag: "HTTP-request-denied" }
  | { tag: "HTTP-request-URI-invalid" }
  | { tag: "connection-refused" }
  | { tag: "connection-timeout" }
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

/** Collects an outgoing body's bytes. */
class BodyBuffer implements ByteSink {
  readonly chunks: Uint8Array[] = [];
  write(bytes: Uint8Array): void {
    this.chunks.push(bytes.slice());
  }
  bytes(): Uint8Array {
    return Buffer.concat(this.chunks);
  }
}

/** `wasi:http/types.outgoing-body`. */
export class OutgoingBody {
  readonly #buffer = new BodyBuffer();
  #stream: OutputStream | undefined;
  finished = false;
  /** @internal called once when the body is finished. */
  onFinish: (() => void) | undefined;

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
  bytes(): Uint8Array {
    return this.#buffer.bytes();
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

  constructor(headers: Fields) {
    this.#headers = headers;
  }
  body(): OutgoingBody {
    if (this.#body !== undefined) throw undefined;
    return (this.#body = new OutgoingBody());
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
   * no body, otherwise when the guest finishes writing the body (a guest may
   * hand the request over before writing its body).
   */
  whenComplete(send: () => void): void {
    const body = this.#body;
    if (body === undefined || body.finished) send();
    else body.onFinish = send;
  }

  /** @internal the request as a URL, method and body, for policy and transport. */
  describe(): { method: string; url: string; headers: Fields; body: Uint8Array } {
    const scheme = this.#scheme === undefined ? "https" : this.#scheme.tag === "other" ? this.#scheme.val : this.#scheme.tag.toLowerCase();
    const method = this.#method.tag === "other" ? this.#method.val : this.#method.tag.toUpperCase();
    return {
      method,
      url: `${scheme}://${this.#authority ?? ""}${this.#pathWithQuery ?? "/"}`,
      headers: this.#headers,
      body: this.#body?.bytes() ?? new Uint8Array(0),
    };
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

/** `wasi:http/types.incoming-response`. */
export class IncomingResponse {
  readonly #status: number;
  readonly #headers: Fields;
  readonly #body: IncomingBody;
  #consumed = false;
  constructor(status: number, headers: Array<[string, Uint8Array]>, body: Uint8Array) {
    this.#status = status;
    this.#headers = Fields.frozen(headers);
    this.#body = new IncomingBody(body);
  }
  status(): number {
    return this.#status;
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

/** What a transport eventually settles a request with. */
export type TransportResult = { ok: IncomingResponse } | { error: HttpErrorCode };

/** `wasi:http/types.future-incoming-response`. */
export class FutureIncomingResponse {
  #result: TransportResult | undefined;
  #taken = false;
  readonly #probe: () => TransportResult | undefined;
  readonly #waitFor: ((ms: number) => void) | undefined;

  /** `probe` returns the result once known; `waitFor` blocks until it may be. */
  constructor(probe: () => TransportResult | undefined, waitFor?: (ms: number) => void) {
    this.#probe = probe;
    this.#waitFor = waitFor;
  }
  static settled(result: TransportResult): FutureIncomingResponse {
    return new FutureIncomingResponse(() => result);
  }
  subscribe(): Pollable {
    return new Pollable(0n, () => this.#poll() !== undefined, this.#waitFor);
  }
  get() {
    const result = this.#poll();
    if (result === undefined) return undefined;
    if (this.#taken) return { tag: "err", val: undefined };
    this.#taken = true;
    return { tag: "ok", val: "ok" in result ? { tag: "ok", val: result.ok } : { tag: "err", val: result.error } };
  }
  #poll(): TransportResult | undefined {
    return (this.#result ??= this.#probe());
  }
}

/** Incoming-handler resources: wfn never serves wasi:http/incoming-handler, so these are never made. */
class IncomingRequest {}
class OutgoingResponse {}
class ResponseOutparam {}

/** Decides the fate of each outgoing request. */
export type OutboundHandler = (request: OutgoingRequest) => FutureIncomingResponse;

export function httpImports(outbound: OutboundHandler) {
  return {
    "wasi:http/types": {
      Fields,
      FutureIncomingResponse,
      FutureTrailers,
      IncomingBody,
      IncomingRequest,
      IncomingResponse,
      OutgoingBody,
      OutgoingRequest,
      OutgoingResponse,
      RequestOptions,
      ResponseOutparam,
      httpErrorCode: (_error: IoError) => undefined,
    },
    "wasi:http/outgoing-handler": {
      handle: (request: OutgoingRequest, _options: RequestOptions | undefined) => outbound(request),
    },
  };
}
