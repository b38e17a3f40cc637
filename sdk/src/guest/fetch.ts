// The guest's fetch(), made to behave as the web standard says on top of
// StarlingMonkey's:
// - a refused or failed outbound request rejects with a TypeError that says
//   why: the host answers it with a made-up response carrying the sentence in
//   a header, because StarlingMonkey reports every wasi:http error as a bare
//   "NetworkError";
// - redirects are followed (StarlingMonkey returns them as they are), each hop
//   a new request that the host checks against the allow-list again.
// The header names are the host's (runtime/src/outbound/protocol.ts).
const DENIED_HEADER = "x-wfn-outbound-denied";
const FAILED_HEADER = "x-wfn-outbound-failed";
const EXPLAIN_HEADER = "x-wfn-outbound-explain";

/** The fetch standard's limit. */
const MAX_REDIRECTS = 20;
const REDIRECT_STATUSES = new Set([301, 302, 303, 307, 308]);
/** Headers describing a body, dropped when a redirect turns the request into a GET. */
const BODY_HEADERS = ["content-encoding", "content-language", "content-location", "content-type"];

/** Marks a body that was given as a stream: it cannot be sent a second time. */
const STREAMED = Symbol("streamed body");
type Replay = BodyInit | null | typeof STREAMED;

/** Wraps the global fetch; call once at module load. */
export function guardFetch(): void {
  const native = globalThis.fetch;
  if (typeof native !== "function") return;
  globalThis.fetch = async function fetch(input: RequestInfo | URL, init?: RequestInit): Promise<Response> {
    const mode = redirectMode(input, init);
    const given = init?.body ?? (input instanceof Request && input.body !== null ? STREAMED : null);
    const replay: Replay = typeof ReadableStream === "function" && given instanceof ReadableStream ? STREAMED : given;
    let request = new Request(input, init);
    for (let redirects = 0; ; redirects++) {
      const response = await send(native, request);
      const location = response.headers.get("location");
      if (mode === "manual" || !REDIRECT_STATUSES.has(response.status) || location === null) {
        return redirects === 0 ? response : markRedirected(response, request.url);
      }
      const what = `fetch ${request.method} ${request.url}`;
      if (mode === "error") throw new TypeError(`${what} was redirected (${response.status}) and its redirect mode is "error"`);
      if (redirects === MAX_REDIRECTS) throw new TypeError(`${what}: more than ${MAX_REDIRECTS} redirects`);
      request = redirected(request, response.status, location, replay, what);
    }
  };
}

async function send(native: typeof fetch, request: Request): Promise<Response> {
  request.headers.set(EXPLAIN_HEADER, "1");
  const response = await native(request);
  const refusal = response.headers.get(DENIED_HEADER) ?? response.headers.get(FAILED_HEADER);
  if (refusal !== null) throw new TypeError(refusal);
  return response;
}

/** StarlingMonkey's Request does not keep its redirect mode, so only fetch's own `init` can set it. */
function redirectMode(input: RequestInfo | URL, init: RequestInit | undefined): RequestRedirect {
  const mode: unknown = init?.redirect ?? (input instanceof Request ? input.redirect : undefined) ?? "follow";
  if (mode !== "follow" && mode !== "manual" && mode !== "error") {
    throw new TypeError(`fetch: redirect must be "follow", "manual" or "error", not ${JSON.stringify(mode)}`);
  }
  return mode;
}

/** The next hop, as the fetch standard's "HTTP-redirect fetch" makes it. */
function redirected(previous: Request, status: number, location: string, replay: Replay, what: string): Request {
  let url: URL;
  try {
    url = new URL(location, previous.url);
  } catch {
    throw new TypeError(`${what} was redirected to an invalid URL: ${location}`);
  }
  if (url.protocol !== "http:" && url.protocol !== "https:") throw new TypeError(`${what} was redirected to a ${url.protocol} URL`);
  if (status !== 303 && replay === STREAMED) {
    throw new TypeError(`${what} was redirected (${status}), which would send its body again, but a streamed body can be sent only once`);
  }
  const headers = new Headers(previous.headers);
  let method = previous.method;
  let body = replay === STREAMED ? null : replay;
  if (((status === 301 || status === 302) && method === "POST") || (status === 303 && method !== "GET" && method !== "HEAD")) {
    method = "GET";
    body = null;
    for (const name of BODY_HEADERS) headers.delete(name);
  }
  if (url.origin !== new URL(previous.url).origin) headers.delete("authorization");
  return new Request(url.href, { method, headers, body, signal: previous.signal });
}

function markRedirected(response: Response, url: string): Response {
  Object.defineProperties(response, { redirected: { value: true }, url: { value: url } });
  return response;
}
