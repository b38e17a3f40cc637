// The key-value capability, executor side: the `wfn:function/kv` imports of
// one instance. Each call suspends the guest until the host answers
// (./host.ts). A namespace the function does not declare is refused here
// without a host call.
import type { GuestImports } from "../capability.js";
import { resuming } from "../../sandbox/interrupt.js";
import type { KvLimits } from "./config.js";

/** What an instance's executor side gets. */
export interface KvSettings {
  namespaces: string[];
  limits: KvLimits;
}

export const imports: GuestImports<KvSettings> = (settings, call, state) => {
  const namespaces = new Set(settings.namespaces);
  const request = (op: string, args: unknown[]): Promise<unknown> => {
    const namespace = args[0];
    if (typeof namespace !== "string" || !namespaces.has(namespace)) {
      const declared = settings.namespaces.length === 0 ? "none" : settings.namespaces.join(", ");
      return Promise.reject(`namespace "${String(namespace)}" is not declared by this function (its kv in wfn.json: ${declared})`);
    }
    return resuming(call(op, args), state);
  };
  return {
    "wfn:function/kv": {
      get: (namespace: string, key: string) => request("get", [namespace, key]),
      set: (namespace: string, key: string, value: Uint8Array, ttlSeconds: number | undefined) => request("set", [namespace, key, value, ttlSeconds]),
      remove: (namespace: string, key: string) => request("remove", [namespace, key]),
      listKeys: (namespace: string, prefix: string, limit: number, cursor: string | undefined) => request("list-keys", [namespace, prefix, limit, cursor]),
    },
  };
};
