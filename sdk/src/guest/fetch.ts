// Makes a refused outbound request fail the way a user expects: fetch()
// rejects with a TypeError that names the host and the configuration key.
// (The host answers refused requests with a 403 carrying this header, because
// StarlingMonkey reports every wasi:http error as a bare "NetworkError".)
const DENIED_HEADER = "x-wfn-outbound-denied";

/** Wraps the global fetch; call once at module load. */
export function guardFetch(): void {
  const native = globalThis.fetch;
  if (typeof native !== "function") return;
  globalThis.fetch = async function fetch(input: RequestInfo | URL, init?: RequestInit): Promise<Response> {
    const response = await native(input, init);
    const denied = response.headers.get(DENIED_HEADER);
    if (denied !== null) throw new TypeError(denied);
    return response;
  };
}
