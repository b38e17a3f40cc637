// Key-value namespaces from inside a function: each call is a host call
// (the instance waits while the host reads or writes its store), offered as
// promises so callers write the same code whichever way the host answers.
import { get, listKeys, remove, set } from "wfn:function/kv@0.1.0";
import type { KvListOptions, KvListPage, KvNamespace, KvSetOptions } from "../types.js";

const encoder = new TextEncoder();
const decoder = new TextDecoder();

/**
 * The key-value namespace `namespace`, which the function's `kv` in
 * `wfn.json` must declare (any other is refused). Also `ctx.kv(namespace)`.
 *
 * ```ts
 * import { kv } from "@wfn/sdk/kv";
 * const sessions = kv("sessions");
 * await sessions.set("u1", JSON.stringify({ cart: [] }), { ttlSeconds: 3600 });
 * ```
 */
export function kv(namespace: string): KvNamespace {
  if (typeof namespace !== "string") throw new TypeError("kv(namespace): the namespace must be a string");
  return {
    get: (key) => attempt(namespace, "get", () => {
      const value = get(namespace, String(key));
      return value === undefined || value === null ? null : decoder.decode(value);
    }),
    getBytes: (key) => attempt(namespace, "get", () => get(namespace, String(key)) ?? null),
    getJSON: <T = unknown>(key: string) =>
      attempt(namespace, "get", () => {
        const value = get(namespace, String(key));
        return value === undefined || value === null ? null : (JSON.parse(decoder.decode(value)) as T);
      }),
    set: (key, value, options?: KvSetOptions) =>
      attempt(namespace, "set", () => {
        const bytes = typeof value === "string" ? encoder.encode(value) : value instanceof Uint8Array ? value : undefined;
        if (bytes === undefined) throw "the value must be a string or a Uint8Array (use JSON.stringify for objects)";
        set(namespace, String(key), bytes, ttl(options?.ttlSeconds));
      }),
    delete: (key) => attempt(namespace, "delete", () => remove(namespace, String(key))),
    list: (options?: KvListOptions) =>
      attempt(namespace, "list", (): KvListPage => {
        if (options?.limit !== undefined && !(Number.isInteger(options.limit) && options.limit >= 1)) throw "limit must be a whole number, at least 1";
        // 0: the host's default page (100, or its limit when lower).
        const page = listKeys(namespace, options?.prefix ?? "", options?.limit ?? 0, options?.cursor);
        return { keys: page.keys, cursor: page.cursor ?? null };
      }),
  };
}

function ttl(seconds: number | undefined): number | undefined {
  if (seconds === undefined) return undefined;
  if (!Number.isInteger(seconds) || seconds < 1 || seconds > 0xffffffff) throw "ttlSeconds must be a whole number of seconds, at least 1";
  return seconds;
}

function attempt<T>(namespace: string, operation: string, work: () => T): Promise<T> {
  try {
    return Promise.resolve(work());
  } catch (reason) {
    const message = typeof reason === "string" ? reason : ((reason as Error)?.message ?? String(reason));
    return Promise.reject(new Error(`kv("${namespace}").${operation} failed: ${message}`));
  }
}
