// The key-value room of the host's store: namespaced entries with optional
// expiry. An expired entry is never returned; it is deleted when next
// touched or by the periodic purge.

/** Limits a write is held to (the host's `kv` options). */
export interface KvWriteLimits {
  /** Most live entries one namespace may hold. */
  maxEntriesPerNamespace: number;
}

/** One page of keys. */
export interface KvKeyPage {
  keys: string[];
  /** The last key of a full page, to continue after; undefined on the last page. */
  cursor: string | undefined;
}

export interface KvStore {
  /** The value under `key`, unless it expired by `now` (epoch ms). */
  get(namespace: string, key: string, now: number): Promise<Uint8Array | undefined>;
  /**
   * Stores a value, expiring at `expiresAt` (epoch ms) when given.
   * @throws WfnError WFN_PAYLOAD_TOO_LARGE when a new key would pass `maxEntriesPerNamespace`.
   */
  set(namespace: string, key: string, value: Uint8Array, expiresAt: number | undefined, now: number, limits: KvWriteLimits): Promise<void>;
  /** Removes a key; whether a live entry was there. */
  delete(namespace: string, key: string, now: number): Promise<boolean>;
  /** Live keys starting with `prefix`, in order, after `cursor`, at most `limit`. */
  list(namespace: string, prefix: string, cursor: string | undefined, limit: number, now: number): Promise<KvKeyPage>;
  /** Deletes entries expired by `now`; returns how many. */
  purge(now: number): Promise<number>;
}
