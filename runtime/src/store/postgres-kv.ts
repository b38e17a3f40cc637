// The key-value room of the PostgreSQL store (./kv.ts), the twin of
// ./sqlite-kv.ts: one table of entries keyed by (namespace, key), and a count
// of live entries per namespace kept in the same transaction as every write.
// Several hosts write at once, so every write first locks its namespace's
// count row: the count cannot drift and the limit cannot be passed.
import { WfnError } from "../errors.js";
import type { KvKeyPage, KvStore, KvWriteLimits } from "./kv.js";

/** Its migration (schema version 2 of the PostgreSQL store). Keys sort by code point, as in SQLite (COLLATE "C"). */
export const PG_KV_MIGRATION = `CREATE TABLE kv_entries (
     namespace TEXT COLLATE "C" NOT NULL,
     key TEXT COLLATE "C" NOT NULL,
     value BYTEA NOT NULL,
     expires_at BIGINT,
     PRIMARY KEY (namespace, key)
   );
   CREATE INDEX kv_expiring ON kv_entries (expires_at) WHERE expires_at IS NOT NULL;
   CREATE TABLE kv_namespaces (
     namespace TEXT COLLATE "C" PRIMARY KEY,
     entries BIGINT NOT NULL
   );`;

/** A row as node-postgres returns it (BIGINT as a string). */
export type PgRow = Record<string, unknown>;

/** What one statement returned. */
export interface PgResult {
  rows: PgRow[];
  /** Rows inserted, updated or deleted (0 for a statement that changes none). */
  rowCount: number;
}

/** Runs one statement with `$1`-style parameters. */
export type PgQuery = (text: string, values?: readonly unknown[]) => Promise<PgResult>;

/** What the store gives its rooms: a statement on any pooled connection, or several in one transaction. */
export interface PgAccess {
  query: PgQuery;
  /** Runs `body` in one transaction on one connection; its failures (and the store's) roll all of it back. */
  transaction<T>(body: (query: PgQuery) => Promise<T>): Promise<T>;
}

/** LIKE treats % and _ as wildcards: a prefix is matched with a range instead (every key ≥ prefix and < prefix + U+10FFFF). */
const PREFIX_END = "\u{10FFFF}";

/** The kv capability's entries in PostgreSQL, safe for several hosts on one database. */
export class PostgresKv implements KvStore {
  readonly #db: PgAccess;

  constructor(db: PgAccess) {
    this.#db = db;
  }

  async get(namespace: string, key: string, now: number): Promise<Uint8Array | undefined> {
    const { rows } = await this.#db.query("SELECT value, expires_at FROM kv_entries WHERE namespace = $1 AND key = $2", [namespace, key]);
    const row = rows[0];
    if (row === undefined) return undefined;
    if (row.expires_at !== null && Number(row.expires_at) <= now) {
      await this.delete(namespace, key, now);
      return undefined;
    }
    // A plain Uint8Array, as node:sqlite gives, not node-postgres's Buffer.
    return new Uint8Array(row.value as Buffer);
  }

  async set(namespace: string, key: string, value: Uint8Array, expiresAt: number | undefined, now: number, limits: KvWriteLimits): Promise<void> {
    await this.#db.transaction(async (query) => {
      const entries = await lockNamespace(query, namespace);
      const row = (await query("SELECT expires_at FROM kv_entries WHERE namespace = $1 AND key = $2", [namespace, key])).rows[0];
      const live = row !== undefined && (row.expires_at === null || Number(row.expires_at) > now);
      if (!live) {
        if (entries >= limits.maxEntriesPerNamespace) {
          throw new WfnError("WFN_PAYLOAD_TOO_LARGE", `namespace "${namespace}" holds ${entries} entries, its limit: delete some or let them expire`, { details: { limit: limits.maxEntriesPerNamespace } });
        }
        // An expired row being replaced was already counted.
        if (row === undefined) await adjust(query, namespace, 1);
      }
      await query(
        "INSERT INTO kv_entries (namespace, key, value, expires_at) VALUES ($1, $2, $3, $4) ON CONFLICT (namespace, key) DO UPDATE SET value = excluded.value, expires_at = excluded.expires_at",
        [namespace, key, Buffer.from(value.buffer, value.byteOffset, value.byteLength), expiresAt ?? null],
      );
    });
  }

  async delete(namespace: string, key: string, now: number): Promise<boolean> {
    return this.#db.transaction(async (query) => {
      // The namespace before the entry, as every write takes them: no two writers wait on each other in a circle.
      await query("SELECT 1 FROM kv_namespaces WHERE namespace = $1 FOR UPDATE", [namespace]);
      const row = (await query("DELETE FROM kv_entries WHERE namespace = $1 AND key = $2 RETURNING expires_at", [namespace, key])).rows[0];
      if (row === undefined) return false;
      await adjust(query, namespace, -1);
      return row.expires_at === null || Number(row.expires_at) > now;
    });
  }

  async list(namespace: string, prefix: string, cursor: string | undefined, limit: number, now: number): Promise<KvKeyPage> {
    const after = cursor !== undefined && cursor >= prefix ? cursor : undefined;
    const values: unknown[] = [namespace, prefix, prefix + PREFIX_END, now, limit < -1 ? null : limit + 1];
    if (after !== undefined) values.push(after);
    const { rows } = await this.#db.query(
      `SELECT key FROM kv_entries WHERE namespace = $1 AND key >= $2 AND key < $3 ${after === undefined ? "" : "AND key > $6"}
       AND (expires_at IS NULL OR expires_at > $4) ORDER BY key LIMIT $5`,
      values,
    );
    const keys = rows.slice(0, limit).map((row) => row.key as string);
    return { keys, cursor: rows.length > limit ? keys.at(-1) : undefined };
  }

  async purge(now: number): Promise<number> {
    return this.#db.transaction(async (query) => {
      // Namespaces locked in one order first; entries expiring in another namespace meanwhile wait for the next purge.
      const locked = (
        await query(
          "SELECT namespace FROM kv_namespaces WHERE namespace IN (SELECT namespace FROM kv_entries WHERE expires_at IS NOT NULL AND expires_at <= $1) ORDER BY namespace FOR UPDATE",
          [now],
        )
      ).rows.map((row) => row.namespace as string);
      if (locked.length === 0) return 0;
      const { rows } = await query("DELETE FROM kv_entries WHERE expires_at IS NOT NULL AND expires_at <= $1 AND namespace = ANY($2::text[]) RETURNING namespace", [now, locked]);
      const byNamespace = new Map<string, number>();
      for (const row of rows) byNamespace.set(row.namespace as string, (byNamespace.get(row.namespace as string) ?? 0) + 1);
      for (const [namespace, removed] of byNamespace) await adjust(query, namespace, -removed);
      return rows.length;
    });
  }
}

/** Locks a namespace's count row for the transaction (creating it at 0) and returns the count. */
async function lockNamespace(query: PgQuery, namespace: string): Promise<number> {
  const { rows } = await query(
    "INSERT INTO kv_namespaces (namespace, entries) VALUES ($1, 0) ON CONFLICT (namespace) DO UPDATE SET entries = kv_namespaces.entries RETURNING entries",
    [namespace],
  );
  return Number(rows[0]?.entries ?? 0);
}

async function adjust(query: PgQuery, namespace: string, by: number): Promise<void> {
  await query("INSERT INTO kv_namespaces (namespace, entries) VALUES ($1, $2) ON CONFLICT (namespace) DO UPDATE SET entries = kv_namespaces.entries + excluded.entries", [namespace, by]);
}
