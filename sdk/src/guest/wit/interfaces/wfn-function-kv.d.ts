// Generated from sdk/wit/ by `npm run wit:types` (jco guest-types): do not edit.
declare module 'wfn:function/kv@0.1.0' {
  /**
   * The value under `key`, or none (never set, removed or expired).
   */
  export function get(namespace: string, key: string): Uint8Array | undefined;
  /**
   * Stores `value` under `key`; with `ttl-seconds`, it expires after that long.
   */
  export function set(namespace: string, key: string, value: Uint8Array, ttlSeconds: number | undefined): void;
  /**
   * Removes `key`; whether it was there.
   */
  export function remove(namespace: string, key: string): boolean;
  /**
   * Keys that start with `prefix`, in order, at most `limit`, after `cursor`.
   */
  export function listKeys(namespace: string, prefix: string, limit: number, cursor: string | undefined): KeyPage;
  /**
   * One page of keys, in order.
   */
  export interface KeyPage {
    keys: Array<string>,
    /**
     * Pass it back to `list-keys` for the next page; none on the last one.
     */
    cursor?: string,
  }
}
