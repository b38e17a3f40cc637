// Talking to a running wfn host over HTTP (its /_wfn/ routes): one place
// for the address, the key, the JSON, and errors a person can act on.
import { readFile } from "node:fs/promises";
import { join, resolve } from "node:path";
import { PROJECT_FILE } from "../project/project.js";
import { CliError, UsageError } from "../errors.js";
import { readLocalKey } from "./local-key.js";

export const DEFAULT_HOST_URL = "http://127.0.0.1:8787";

/** Options every command that talks to a host accepts. */
export const remoteOptions = {
  host: { type: "string" },
  key: { type: "string" },
  profile: { type: "string" },
  json: { type: "boolean", default: false },
} as const;

export const remoteHelp = `  --host <url>      the host (default: $WFN_HOST, the profile's, else ${DEFAULT_HOST_URL})
  --key <key>       its admin key (default: $WFN_KEY, or the profile's)
  --profile <name>  a profile from wfn.json's "profiles" (default: $WFN_PROFILE)
  --json            print the host's JSON answer instead of a table`;

/** A host's error answer, as a sentence. */
export class HostError extends CliError {
  override name = "HostError";
  constructor(
    message: string,
    readonly status: number,
  ) {
    super(message);
  }
}

interface Profile {
  host?: string;
  key?: string;
}

/** Flags, then environment, then the profile in wfn.json (of `projectDir`, default the current folder). */
export async function connect(values: { host?: string | undefined; key?: string | undefined; profile?: string | undefined }, projectDir = "."): Promise<HostClient> {
  const profileName = values.profile ?? process.env.WFN_PROFILE;
  let profile: Profile = {};
  if (profileName !== undefined) profile = await readProfile(projectDir, profileName);
  const key = values.key ?? process.env.WFN_KEY ?? secret(profile.key, profileName);
  const client = new HostClient(values.host ?? process.env.WFN_HOST ?? profile.host, key);
  if (key !== undefined) return client;
  // A host on this machine started without keys made one for its run.
  const local = await readLocalKey(new URL(client.url));
  return local === undefined ? client : new HostClient(client.url, local);
}

async function readProfile(projectDir: string, name: string): Promise<Profile> {
  const file = join(resolve(projectDir), PROJECT_FILE);
  let profiles: Record<string, Profile> | undefined;
  try {
    profiles = (JSON.parse(await readFile(file, "utf8")) as { profiles?: Record<string, Profile> }).profiles;
  } catch (error) {
    throw new UsageError(`profile "${name}": cannot read ${file}: ${(error as Error).message}`);
  }
  const profile = profiles?.[name];
  if (profile === undefined) throw new UsageError(`no profile "${name}" in ${file} (profiles: ${Object.keys(profiles ?? {}).join(", ") || "none"})`);
  return profile;
}

/** A profile's key: literal, or `env:NAME` for the variable NAME. */
function secret(value: string | undefined, profile: string | undefined): string | undefined {
  if (value === undefined || !value.startsWith("env:")) return value;
  const found = process.env[value.slice(4)];
  if (found === undefined || found === "") throw new UsageError(`profile "${profile}" reads its key from ${value.slice(4)}, which is not set`);
  return found;
}

/** Calls the routes of a running host. */
export class HostClient {
  readonly url: string;
  readonly #key: string | undefined;

  constructor(url: string | undefined, key?: string) {
    const base = url ?? DEFAULT_HOST_URL;
    let parsed: URL;
    try {
      parsed = new URL(base);
    } catch {
      throw new UsageError(`--host must be a URL such as ${DEFAULT_HOST_URL}, got "${base}"`);
    }
    if (parsed.protocol !== "http:" && parsed.protocol !== "https:") throw new UsageError(`--host must be an http:// or https:// URL, got "${base}"`);
    this.url = parsed.href.replace(/\/$/, "");
    this.#key = key;
  }

  get<T>(path: string): Promise<T> {
    return this.#call<T>("GET", path);
  }

  post<T>(path: string, body?: unknown): Promise<T> {
    return this.#call<T>("POST", path, body);
  }

  put<T>(path: string, body: unknown): Promise<T> {
    return this.#call<T>("PUT", path, body);
  }

  patch<T>(path: string, body: unknown): Promise<T> {
    return this.#call<T>("PATCH", path, body);
  }

  delete(path: string): Promise<void> {
    return this.#call<void>("DELETE", path);
  }

  /** Sends a multipart form (a deployment); no time limit, as uploads and preparation take a while. */
  upload<T>(path: string, form: FormData): Promise<T> {
    return this.#call<T>("POST", path, form, 0);
  }

  /** Opens a streaming GET (JSON lines); resolves with the response once the host answered. */
  async stream(path: string, signal: AbortSignal): Promise<Response> {
    const response = await this.#fetch("GET", path, undefined, 0, signal);
    if (!response.ok) throw await this.#error(response);
    return response;
  }

  async #call<T>(method: string, path: string, body?: unknown, timeoutMs = 30_000): Promise<T> {
    const response = await this.#fetch(method, path, body, timeoutMs);
    if (!response.ok) throw await this.#error(response);
    const text = await response.text();
    try {
      return (text === "" ? undefined : JSON.parse(text)) as T;
    } catch {
      throw new HostError(`${this.url} answered ${response.status} with something that is not JSON: is it a wfn host?`, response.status);
    }
  }

  async #fetch(method: string, path: string, body: unknown, timeoutMs: number, signal?: AbortSignal): Promise<Response> {
    const headers: Record<string, string> = {};
    if (this.#key !== undefined) headers.authorization = `Bearer ${this.#key}`;
    let payload: BodyInit | undefined;
    if (body instanceof FormData) payload = body;
    else if (body !== undefined) {
      payload = JSON.stringify(body);
      headers["content-type"] = "application/json";
    }
    const signals = [...(timeoutMs > 0 ? [AbortSignal.timeout(timeoutMs)] : []), ...(signal === undefined ? [] : [signal])];
    try {
      return await fetch(this.url + path, { method, headers, ...(payload === undefined ? {} : { body: payload }), ...(signals.length > 0 ? { signal: AbortSignal.any(signals) } : {}) });
    } catch (error) {
      const cause = (error as { cause?: { code?: string; message?: string } }).cause;
      const reason = (error as Error).name === "TimeoutError" ? `no answer in ${timeoutMs / 1000} s` : (cause?.message ?? (error as Error).message);
      throw new HostError(
        cause?.code === "ECONNREFUSED"
          ? `no wfn host answers at ${this.url} (start one with \`wfn serve\`, or point --host / WFN_HOST at it)`
          : `cannot reach the host at ${this.url}: ${reason}`,
        0,
      );
    }
  }

  async #error(response: Response): Promise<HostError> {
    const text = await response.text();
    let message: unknown;
    try {
      message = (JSON.parse(text) as { errorMessage?: unknown }).errorMessage;
    } catch {
      message = undefined;
    }
    const hint = response.status === 401 && this.#key === undefined ? " (pass --key, or set WFN_KEY)" : "";
    return new HostError(`${typeof message === "string" ? message : `the host answered ${response.status} ${response.statusText}`}${hint} [HTTP ${response.status}]`, response.status);
  }
}
