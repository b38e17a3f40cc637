// The key-value capability, host side: ctx.kv(namespace) get / set /
// delete / list, on the host's store, for the namespaces the calling
// function's configuration declares. The executor side (./guest.ts) checks
// the same list first, so a refused namespace costs no host call; the check
// here is the one that counts.
import type { Capability, Caller, CapabilityServices, HostSide } from "../capability.js";
import { KV_DEFAULTS, type KvLimits } from "./config.js";
import { imports, type KvSettings } from "./guest.js";

/** Keys in a page when the guest asks for none in particular (0). */
const DEFAULT_PAGE = 100;

/** How often expired entries are deleted. */
const PURGE_INTERVAL_MS = 60_000;

export const kvCapability: Capability = {
  name: "kv",
  interfaces: ["wfn:function/kv"],
  suspendingImports: ["wfn:function/kv#get", "wfn:function/kv#set", "wfn:function/kv#remove", "wfn:function/kv#list-keys"],
  guest: imports,
  unconfigured: { namespaces: [], limits: KV_DEFAULTS } satisfies KvSettings,
  configure: (config, settings): KvSettings => ({ namespaces: [...(config.kv ?? [])], limits: settings.kv }),
  host({ store, settings }: CapabilityServices) {
    const limits = settings.kv;
    const timer = setInterval(() => void store.kv.purge(Date.now()).catch(() => undefined), PURGE_INTERVAL_MS);
    timer.unref();
    const calls: HostSide["calls"] = {
      get: async ([namespace, key], caller) => store.kv.get(allowed(caller, namespace), checkedKey(key, limits), Date.now()),
      set: async ([namespace, key, value, ttlSeconds], caller) => {
        const ns = allowed(caller, namespace);
        const name = checkedKey(key, limits);
        if (!(value instanceof Uint8Array)) throw "the value must be bytes";
        if (value.byteLength > limits.maxValueBytes) throw `the value is ${value.byteLength} bytes; the limit is ${limits.maxValueBytes}`;
        if (ttlSeconds !== undefined && (typeof ttlSeconds !== "number" || !Number.isInteger(ttlSeconds) || ttlSeconds < 1)) throw "ttlSeconds must be a whole number, at least 1";
        const now = Date.now();
        try {
          await store.kv.set(ns, name, value, ttlSeconds === undefined ? undefined : now + ttlSeconds * 1000, now, limits);
        } catch (error) {
          throw error instanceof Error ? error.message : String(error);
        }
      },
      remove: async ([namespace, key], caller) => store.kv.delete(allowed(caller, namespace), checkedKey(key, limits), Date.now()),
      "list-keys": async ([namespace, prefix, limit, cursor], caller) => {
        const ns = allowed(caller, namespace);
        if (typeof prefix !== "string") throw "the prefix must be a string";
        checkedKey(prefix, limits, "prefix");
        if (typeof limit !== "number" || !Number.isInteger(limit) || limit < 0 || limit > limits.maxListKeys) throw `limit must be from 1 to ${limits.maxListKeys}`;
        if (cursor !== undefined) checkedKey(cursor, limits, "cursor");
        const page = limit === 0 ? Math.min(DEFAULT_PAGE, limits.maxListKeys) : limit;
        return store.kv.list(ns, prefix, cursor as string | undefined, page, Date.now());
      },
    };
    return { calls, close: () => clearInterval(timer) };
  },
};

/** The namespace, if the caller's configuration declares it; else the guest is told which it may use. */
function allowed(caller: Caller, namespace: unknown): string {
  const declared = caller.config.kv ?? [];
  if (typeof namespace !== "string" || !declared.includes(namespace)) {
    throw `namespace "${String(namespace)}" is not declared by function ${caller.functionName} (its kv in wfn.json: ${declared.length === 0 ? "none" : declared.join(", ")})`;
  }
  return namespace;
}

function checkedKey(key: unknown, limits: KvLimits, what = "key"): string {
  if (typeof key !== "string") throw `the ${what} must be a string`;
  const bytes = Buffer.byteLength(key);
  if (what === "key" && bytes === 0) throw "the key must not be empty";
  if (bytes > limits.maxKeyBytes) throw `the ${what} is ${bytes} bytes; the limit is ${limits.maxKeyBytes}`;
  return key;
}
