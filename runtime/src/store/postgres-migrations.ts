// The PostgreSQL store's schema, by version: each entry moves it one
// version up (never edit one that shipped), applied in its own transaction
// under an advisory lock, so hosts starting at once migrate once.
import pg from "pg";
import type { Pool } from "pg";
import { PG_KV_MIGRATION, type PgRow } from "./postgres-kv.js";

/**
 * Each entry moves the schema one version up; never edit one that shipped.
 * Text that is sorted or compared by range is COLLATE "C" (code point order, as SQLite's);
 * `seq` stands for SQLite's rowid, which breaks ties in its orderings.
 */
export const MIGRATIONS: string[] = [
  `CREATE TABLE messages (
     seq BIGINT GENERATED ALWAYS AS IDENTITY,
     id TEXT PRIMARY KEY,
     queue TEXT COLLATE "C" NOT NULL,
     body TEXT NOT NULL,
     attributes TEXT NOT NULL,
     sent_at BIGINT NOT NULL,
     visible_at BIGINT NOT NULL,
     receive_count BIGINT NOT NULL DEFAULT 0,
     first_received_at BIGINT,
     receipt TEXT,
     dead_lettered_from TEXT
   );
   CREATE INDEX messages_receivable ON messages (queue, visible_at);
   CREATE UNIQUE INDEX messages_receipt ON messages (receipt) WHERE receipt IS NOT NULL;
   CREATE TABLE async_invocations (
     seq BIGINT GENERATED ALWAYS AS IDENTITY,
     id TEXT PRIMARY KEY,
     function TEXT NOT NULL,
     qualifier TEXT,
     event TEXT NOT NULL,
     attempts BIGINT NOT NULL DEFAULT 0,
     created_at BIGINT NOT NULL,
     next_attempt_at BIGINT NOT NULL,
     last_error TEXT,
     claimed_by INTEGER
   );
   CREATE INDEX async_due ON async_invocations (next_attempt_at);
   CREATE TABLE async_failures (
     seq BIGINT GENERATED ALWAYS AS IDENTITY,
     id TEXT PRIMARY KEY,
     function TEXT NOT NULL,
     failed_at BIGINT NOT NULL,
     record TEXT NOT NULL
   );
   CREATE TABLE schedule_firings (
     schedule TEXT NOT NULL,
     due_at BIGINT NOT NULL,
     fired_at BIGINT NOT NULL,
     PRIMARY KEY (schedule, due_at)
   );
   CREATE TABLE functions (
     name TEXT COLLATE "C" PRIMARY KEY,
     latest BIGINT NOT NULL,
     last_version BIGINT NOT NULL,
     traffic TEXT NOT NULL,
     created_at BIGINT NOT NULL,
     updated_at BIGINT NOT NULL
   );
   CREATE TABLE versions (
     function TEXT COLLATE "C" NOT NULL,
     version BIGINT NOT NULL,
     sha256 TEXT NOT NULL,
     manifest TEXT NOT NULL,
     description TEXT,
     created_at BIGINT NOT NULL,
     PRIMARY KEY (function, version)
   );
   CREATE INDEX versions_component ON versions (sha256);
   CREATE TABLE aliases (
     function TEXT COLLATE "C" NOT NULL,
     name TEXT COLLATE "C" NOT NULL,
     version BIGINT NOT NULL,
     routing_version BIGINT,
     routing_weight DOUBLE PRECISION,
     description TEXT,
     updated_at BIGINT NOT NULL,
     PRIMARY KEY (function, name)
   );
   CREATE TABLE settings (
     key TEXT PRIMARY KEY,
     value TEXT NOT NULL
   );
   CREATE TABLE components (
     sha256 TEXT PRIMARY KEY,
     bytes BYTEA NOT NULL
   );`,
  PG_KV_MIGRATION,
  // The invocation that runs each taken firing: overlap is judged, fleet-wide, by whether it is still in the store.
  `ALTER TABLE schedule_firings ADD COLUMN request_id TEXT;`,
];

/** `pg_advisory_xact_lock` key held while migrating ("wfn\0"). */
const MIGRATION_LOCK = 0x77666e00;

/** Brings the schema (created when `schema` names one that is missing) to the latest version. */
export async function migrate(pool: Pool, schema: string | undefined): Promise<void> {
  const client = await pool.connect();
  try {
    for (;;) {
      await client.query("BEGIN");
      // Two hosts starting at once: the second waits, then finds the schema current.
      await client.query(`SELECT pg_advisory_xact_lock(${MIGRATION_LOCK})`);
      if (schema !== undefined) {
        const exists = await client.query("SELECT 1 FROM pg_namespace WHERE nspname = $1", [schema]);
        if (exists.rowCount === 0) await client.query(`CREATE SCHEMA ${pg.escapeIdentifier(schema)}`);
        const current = (await client.query("SELECT current_schema() AS name")).rows[0] as PgRow | undefined;
        if (current?.name !== schema) throw new Error(`its connections do not use schema ${schema} (does the URL set options=-c search_path?)`);
      }
      await client.query("CREATE TABLE IF NOT EXISTS wfn_migrations (version INTEGER PRIMARY KEY, applied_at BIGINT NOT NULL)");
      const current = Number(((await client.query("SELECT COALESCE(MAX(version), 0) AS version FROM wfn_migrations")).rows[0] as PgRow).version);
      if (current > MIGRATIONS.length) {
        throw new Error(`the store was written by a newer wfn (schema ${current}, this one knows ${MIGRATIONS.length})`);
      }
      if (current === MIGRATIONS.length) {
        await client.query("COMMIT");
        return;
      }
      await client.query(MIGRATIONS[current]!);
      await client.query("INSERT INTO wfn_migrations (version, applied_at) VALUES ($1, $2)", [current + 1, Date.now()]);
      await client.query("COMMIT");
    }
  } catch (error) {
    await client.query("ROLLBACK").catch(() => {});
    throw error;
  } finally {
    client.release();
  }
}
