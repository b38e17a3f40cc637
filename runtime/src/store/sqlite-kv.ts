// The key-value room of the embedded store (./kv.ts): one table of entries
// keyed by (namespace, key), and a count of live entries per namespace kept
// in the same transaction as every write, so the namespace limit costs one
// row read.
import type { StatementSync } from "node:sqlite";
import { WfnError } from "../errors.js";
import type { KvKeyPage, KvStore, KvWriteLimits } from "./kv.js";

/** Its migration (schema version 3 of the store). */
export const KV_MIGRATION = `CREATE TABLE kv_entries (
     namespace TEXT NOT NULL,
     key TEXT NOT NULL,
     value BLOB NOT NULL,
     expires_at INTEGER,
     PRIMARY KEY (namespace, key)
   ) WITHOUT ROWID;
   CREATE INDEX kv_expiring ON kv_entries (expires_at) WHERE expires_at IS NOT NULL;
   CREATE TABLE kv_namespaces (
     namespace TEXT PRIMARY KEY,
     entries INTEGER NOT NULL
   );`;

type Row = Record<string, unknown>;

/** What the store gives its rooms: cached statements and a write transaction. */
export interface SqlAccess {
  sql(text: string): StatementSync;
  write<T>(body: () => T): T;
}

/** LIKE treats % and _ as wildcards: a prefix is matched with a range instead (every key ≥ prefix and < prefix + U+FFFF). */
const PREFIX_END = "\u{10FFFF}";

export class SqliteKv implements KvStore {
  readonly #db: SqlAccess;

  constructor(db: SqlAccess) {
    this.#db = db;
  }

  async get(namespace: string, key: string, now: number): Promise<Uint8Array | undefined> {
    const row = this.#db.sql("SELECT value, expires_at FROM kv_entries WHERE namespace = ? AND key = ?").get(namespace, key) as Row | undefined;
    if (row === undefined) return undefined;
    if (row.expires_at !== null && Number(row.expires_at) <= now) {
      await this.delete(namespace, key, now);
      return undefined;
    }
    return row.value as Uint8Array;
  }

  async set(namespace: string, key: string, value: Uint8Array, expiresAt: number | undefined, now: number, limits: KvWriteLimits): Promise<void> {
    const existing = this.#db.sql("SELECT expires_at FROM kv_entries WHERE namespace = ? AND key = ?");
    const count = this.#db.sql("SELECT entries FROM kv_namespaces WHERE namespace = ?");
    const upsert = this.#db.sql("INSERT INTO kv_entries (namespace, key, value, expires_at) VALUES (?, ?, ?, ?) ON CONFLICT (namespace, key) DO UPDATE SET value = excluded.value, expires_at = excluded.expires_at");
    this.#db.write(() => {
      const row = existing.get(namespace, key) as Row | undefined;
      const live = row !== undefined && (row.expires_at === null || Number(row.expires_at) > now);
      if (!live) {
        const entries = Number((count.get(namespace) as Row | undefined)?.entries ?? 0);
        if (entries >= limits.maxEntriesPerNamespace) {
          throw new WfnError("WFN_PAYLOAD_TOO_LARGE", `namespace "${namespace}" holds ${entries} entries, its limit: delete some or let them expire`, { details: { limit: limits.maxEntriesPerNamespace } });
        }
        // An expired row being replaced was already counted.
        if (row === undefined) this.#adjust(namespace, 1);
      }
      upsert.run(namespace, key, value, expiresAt ?? null);
    });
  }

  async delete(namespace: string, key: string, now: number): Promise<boolean> {
    const remove = this.#db.sql("DELETE FROM kv_entries WHERE namespace = ? AND key = ? RETURNING expires_at");
    return this.#db.write(() => {
      const row = remove.get(namespace, key) as Row | undefined;
      if (row === undefined) return false;
      this.#adjust(namespace, -1);
      return row.expires_at === null || Number(row.expires_at) > now;
    });
  }

  async list(namespace: string, prefix: string, cursor: string | undefined, limit: number, now: number): Promise<KvKeyPage> {
    const after = cursor !== undefined && cursor >= prefix ? cursor : undefined;
    const rows = this.#db
      .sql(
        `SELECT key FROM kv_entries WHERE namespace = ? AND key >= ? AND key < ? ${after === undefined ? "" : "AND key > ?"}
         AND (expires_at IS NULL OR expires_at > ?) ORDER BY key LIMIT ?`,
      )
      .all(...([namespace, prefix, prefix + PREFIX_END, ...(after === undefined ? [] : [after]), now, limit + 1] as Array<string | number>)) as Row[];
    const keys = rows.slice(0, limit).map((row) => row.key as string);
    return { keys, cursor: rows.length > limit ? keys.at(-1) : undefined };
  }

  async purge(now: number): Promise<number> {
    const expired = this.#db.sql("DELETE FROM kv_entries WHERE expires_at IS NOT NULL AND expires_at <= ? RETURNING namespace");
    return this.#db.write(() => {
      const rows = expired.all(now) as Row[];
      const byNamespace = new Map<string, number>();
      for (const row of rows) byNamespace.set(row.namespace as string, (byNamespace.get(row.namespace as string) ?? 0) + 1);
      for (const [namespace, removed] of byNamespace) this.#adjust(namespace, -removed);
      return rows.length;
    });
  }

  #adjust(namespace: string, by: number): void {
    this.#db.sql("INSERT INTO kv_namespaces (namespace, entries) VALUES (?, ?) ON CONFLICT (namespace) DO UPDATE SET entries = entries + excluded.entries").run(namespace, by);
  }
}
