// Talking to a running wfn host over HTTP (its /_wfn/ routes): one place
// for the address, the JSON, and errors a person can act on.
import { UsageError } from "../ui.js";

export const DEFAULT_HOST_URL = "http://127.0.0.1:8787";

/** Options every command that talks to a host accepts. */
export const remoteOptions = {
  host: { type: "string" },
  json: { type: "boolean", default: false },
} as const;

export const remoteHelp = `  --host <url>      the host (default: $WFN_HOST, else ${DEFAULT_HOST_URL})
  --json            print the host's JSON answer instead of a table`;

/** A host's error answer, as a sentence. */
export class HostError extends Error {
  override name = "HostError";
  constructor(
    message: string,
    readonly status: number,
  ) {
    super(message);
  }
}

/** Calls one route of a running host. */
export class HostClient {
  readonly url: string;

  constructor(url: string | undefined) {
    const base = url ?? process.env.WFN_HOST ?? DEFAULT_HOST_URL;
    let parsed: URL;
    try {
      parsed = new URL(base);
    } catch {
      throw new UsageError(`--host must be a URL such as ${DEFAULT_HOST_URL}, got "${base}"`);
    }
    if (parsed.protocol !== "http:" && parsed.protocol !== "https:") throw new UsageError(`--host must be an http:// or https:// URL, got "${base}"`);
    this.url = parsed.href.replace(/\/$/, "");
  }

  get<T>(path: string): Promise<T> {
    return this.#call<T>("GET", path);
  }

  post<T>(path: string, body?: unknown): Promise<T> {
    return this.#call<T>("POST", path, body);
  }

  async #call<T>(method: string, path: string, body?: unknown): Promise<T> {
    let response: Response;
    try {
      response = await fetch(this.url + path, {
        method,
        ...(body === undefined ? {} : { body: JSON.stringify(body), headers: { "content-type": "application/json" } }),
        signal: AbortSignal.timeout(30_000),
      });
    } catch (error) {
      const cause = (error as { cause?: { code?: string; message?: string } }).cause;
      const reason = (error as Error).name === "TimeoutError" ? "no answer in 30 s" : (cause?.message ?? (error as Error).message);
      throw new HostError(
        cause?.code === "ECONNREFUSED"
          ? `no wfn host answers at ${this.url} (start one with \`wfn serve\`, or point --host / WFN_HOST at it)`
          : `cannot reach the host at ${this.url}: ${reason}`,
        0,
      );
    }
    const text = await response.text();
    let parsed: unknown;
    try {
      parsed = text === "" ? null : JSON.parse(text);
    } catch {
      throw new HostError(`${this.url} answered ${response.status} with something that is not JSON: is it a wfn host?`, response.status);
    }
    if (!response.ok) {
      const message = (parsed as { errorMessage?: unknown } | null)?.errorMessage;
      throw new HostError(typeof message === "string" ? message : `the host answered ${response.status}`, response.status);
    }
    return parsed as T;
  }
}
