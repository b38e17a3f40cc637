// The shared-server store: PostgreSQL through a node-postgres pool, versioned
// migrations, the same behaviour as ./sqlite.ts method by method. Many hosts
// share one database: claims skip rows another holds, every multi-statement
// change is one transaction, changes to what is deployed are made under a
// fleet-wide lock and announced to the other hosts (NOTIFY, and a revision
// they re-read now and then).
import { randomInt, randomUUID } from "node:crypto";
import pg from "pg";
import type { Pool, PoolClient, QueryResult } from "pg";
import { isWfnError, WfnError } from "../errors.js";
import type { KvStore } from "./kv.js";
import { PostgresKv, type PgAccess, type PgQuery, type PgResult, type PgRow } from "./postgres-kv.js";
import type {
  AsyncFailure,
  AsyncInvocation,
  NewMessage,
  QueueCounts,
  ReceivedMessage,
  RegistryChange,
  RegistrySnapshot,
  Store,
  StoredMessage,
} from "./store.js";
import { asyncRow, toAsync, toFailure, toMessage, toRegistry } from "./rows.js";
import { migrate } from "./postgres-migrations.js";
import { isConnectionFailure, pgFailure, reason, redactStoreUrl } from "./postgres-errors.js";

/** First half of the session advisory lock each open store holds while it lives ("wfn\1"); the second half is its owner key. */
const OWNER_LOCK_CLASS = 0x77666e01;
/** Advisory lock class of the fleet-wide lock on changes to what is deployed ("wfn\3"; the second half hashes the schema). */
const REGISTRY_LOCK_CLASS = 0x77666e03;
/** The channel changes to what is deployed are announced on; the payload is `<schema> <owner key of the host that made it>`. */
const REGISTRY_CHANNEL = "wfn_registry";
/** How often a following host re-reads the registry's revision, in case an announcement was lost. */
const REGISTRY_RECHECK_MS = 5000;

/** How long a schedule's taken firings are remembered. */
const FIRING_MEMORY_MS = 86_400_000;

/** Opens (creating or migrating) the store in the PostgreSQL database at `url`, in `options.schema` when given. */
export async function openPostgresStore(url: string, options: { schema?: string } = {}): Promise<Store> {
  const where = redactStoreUrl(url);
  const { schema } = options;
  let pool: Pool | undefined;
  let owner: PoolClient | undefined;
  try {
    pool = new pg.Pool({
      connectionString: url,
      connectionTimeoutMillis: 10_000,
      // Set by the server at connection start, so no query can run before it (libpq escaping: backslash and space).
      ...(schema === undefined ? {} : { options: `-c search_path=${pg.escapeIdentifier(schema).replace(/[\\ ]/g, "\\$&")}` }),
    });
    // An idle connection that fails is dropped by the pool; the next query reports the failure.
    pool.on("error", () => {});
    await migrate(pool, schema);
    owner = await pool.connect();
    const key = await holdOwnerLock(owner);
    const current = ((await owner.query("SELECT current_schema() AS name")).rows[0] as PgRow | undefined)?.name;
    return new PostgresStore(pool, owner, key, where, typeof current === "string" ? current : "public");
  } catch (cause) {
    owner?.release(true);
    await pool?.end().catch(() => {});
    if (isWfnError(cause)) throw cause;
    throw new WfnError("WFN_INVALID_CONFIG", `cannot open the host's store ${where}: ${reason(cause)}`, { cause });
  }
}

/**
 * Takes a session advisory lock under a fresh owner key on a connection kept
 * for the store's life: claims carry the key, and a claim whose owner's lock
 * is gone (its host stopped, its connection died) belongs to no live host.
 */
async function holdOwnerLock(client: PoolClient): Promise<number> {
  // A checked-out connection's failure is emitted on it; unheard, it would end the process.
  client.on("error", () => {});
  for (;;) {
    const key = randomInt(1, 2 ** 31);
    const { rows } = await client.query("SELECT pg_try_advisory_lock($1, $2) AS locked", [OWNER_LOCK_CLASS, key]);
    if ((rows[0] as PgRow | undefined)?.locked === true) return key;
  }
}

/** SQLite's LIMIT of a negative number is no limit; PostgreSQL's is LIMIT NULL. */
function limitOf(n: number): number | null {
  return n < 0 ? null : n;
}

function result(raw: QueryResult): PgResult {
  return { rows: raw.rows as PgRow[], rowCount: raw.rowCount ?? 0 };
}

/** Components are named by SHA-256, as the embedded store's files are. */
function checkSha256(sha256: string): void {
  if (!/^[0-9a-f]{64}$/.test(sha256)) throw new Error(`not a SHA-256: ${sha256}`);
}

/** How soon a store whose lock connection ended (a server restart, a network cut) connects again to take its locks back. */
const RELOCK_DELAY_MS = 1000;

class PostgresStore implements Store {
  readonly #pool: Pool;
  #owner: PoolClient;
  /** The owner key this store's claims carry. */
  readonly #key: number;
  readonly #where: string;
  /** The schema the store's tables are in (announcements name it: several stores may share a database). */
  readonly #schema: string;
  /** Told when another host changed what is deployed (followRegistry). */
  #registryChanged: (() => void) | undefined;
  #closed: Promise<void> | undefined;

  readonly kv: KvStore;

  constructor(pool: Pool, owner: PoolClient, key: number, where: string, schema: string) {
    this.#pool = pool;
    this.#owner = owner;
    this.#key = key;
    this.#where = where;
    this.#schema = schema;
    const access: PgAccess = { query: (text, values) => this.#query(text, values), transaction: (body) => this.#transaction(body) };
    this.kv = new PostgresKv(access);
    this.#watch(owner);
  }

  /**
   * The locks live with the connection that holds them: when it ends, they
   * are taken again (same owner key, so this store's claims stay its own) on
   * a new connection, retrying until the server is back.
   */
  #watch(owner: PoolClient): void {
    owner.once("end", () => {
      if (this.#closed !== undefined) return;
      owner.release(true);
      const relock = async (): Promise<void> => {
        if (this.#closed !== undefined) return;
        let client: PoolClient | undefined;
        try {
          client = await this.#pool.connect();
          client.on("error", () => {});
          const { rows } = await client.query("SELECT pg_try_advisory_lock($1, $2) AS locked", [OWNER_LOCK_CLASS, this.#key]);
          if ((rows[0] as PgRow | undefined)?.locked !== true) throw new Error("owner key taken");
          this.#owner = client;
          this.#watch(client);
          // Announcements made while the connection was down are lost: the follower looks again.
          if (this.#registryChanged !== undefined) {
            await this.#listen(client);
            this.#registryChanged();
          }
        } catch {
          client?.release(true);
          setTimeout(() => void relock(), RELOCK_DELAY_MS).unref();
        }
      };
      setTimeout(() => void relock(), RELOCK_DELAY_MS).unref();
    });
  }

  async #query(text: string, values?: readonly unknown[]): Promise<PgResult> {
    try {
      return result(await this.#pool.query(text, values as unknown[] | undefined));
    } catch (error) {
      throw pgFailure(error, this.#where);
    }
  }

  /** One transaction on one connection, rolled back when `body` throws. */
  async #transaction<T>(body: (query: PgQuery) => Promise<T>, begin = "BEGIN"): Promise<T> {
    let client: PoolClient;
    try {
      client = await this.#pool.connect();
    } catch (error) {
      throw pgFailure(error, this.#where);
    }
    let broken: Error | undefined;
    try {
      await client.query(begin);
      const value = await body(async (text, values) => result(await client.query(text, values as unknown[] | undefined)));
      await client.query("COMMIT");
      return value;
    } catch (error) {
      if (isConnectionFailure(error)) broken = error as Error;
      else await client.query("ROLLBACK").catch((rollback: unknown) => (broken = rollback as Error));
      throw pgFailure(error, this.#where);
    } finally {
      // A connection that failed is destroyed, not handed to the next caller.
      client.release(broken);
    }
  }

  /** LISTENs on the owner connection (held for the store's life), telling the follower of other hosts' announcements. */
  async #listen(client: PoolClient): Promise<void> {
    client.on("notification", (message) => {
      if (message.channel !== REGISTRY_CHANNEL || message.payload === undefined) return;
      const space = message.payload.lastIndexOf(" ");
      if (message.payload.slice(0, space) === this.#schema && message.payload.slice(space + 1) !== String(this.#key)) this.#registryChanged?.();
    });
    await client.query(`LISTEN ${REGISTRY_CHANNEL}`);
  }

  followRegistry(changed: () => void): () => void {
    this.#registryChanged = changed;
    void this.#listen(this.#owner).catch(() => undefined); // a lost connection is listened on again once back
    // The safety net: the revision every change moves, re-read now and then.
    let seen: string | undefined;
    const recheck = async (): Promise<void> => {
      const row = (await this.#query("SELECT value FROM settings WHERE key = 'revision'")).rows[0];
      const revision = (row?.value as string | undefined) ?? "0";
      if (seen !== undefined && revision !== seen) this.#registryChanged?.();
      seen = revision;
    };
    void recheck().catch(() => undefined);
    const timer = setInterval(() => void recheck().catch(() => undefined), REGISTRY_RECHECK_MS);
    timer.unref();
    return () => {
      clearInterval(timer);
      this.#registryChanged = undefined;
    };
  }

  async withRegistryLock<T>(body: () => Promise<T>): Promise<T> {
    let client: PoolClient;
    try {
      client = await this.#pool.connect();
    } catch (error) {
      throw pgFailure(error, this.#where);
    }
    client.on("error", () => {});
    try {
      await client.query("SELECT pg_advisory_lock($1, hashtext(current_schema()))", [REGISTRY_LOCK_CLASS]);
    } catch (error) {
      client.release(true);
      throw pgFailure(error, this.#where);
    }
    try {
      return await body();
    } finally {
      // A connection that cannot unlock is destroyed, which unlocks too.
      await client.query("SELECT pg_advisory_unlock($1, hashtext(current_schema()))", [REGISTRY_LOCK_CLASS]).then(
        () => client.release(),
        () => client.release(true),
      );
    }
  }

  async loadRegistry(): Promise<RegistrySnapshot> {
    // One snapshot: another host's change is seen whole or not at all.
    return this.#transaction(async (query) => {
      return toRegistry(
        (await query("SELECT * FROM functions ORDER BY name")).rows,
        (await query("SELECT * FROM versions ORDER BY function, version")).rows,
        (await query("SELECT * FROM aliases ORDER BY function, name")).rows,
        (await query("SELECT value FROM settings WHERE key = 'queues'")).rows[0],
      );
    }, "BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY");
  }

  async saveRegistry(change: RegistryChange): Promise<void> {
    await this.#transaction(async (query) => {
      for (const name of change.deleteFunctions ?? []) {
        await query("DELETE FROM functions WHERE name = $1", [name]);
        await query("DELETE FROM versions WHERE function = $1", [name]);
        await query("DELETE FROM aliases WHERE function = $1", [name]);
      }
      for (const fn of change.functions ?? []) {
        await query(
          `INSERT INTO functions (name, latest, last_version, traffic, created_at, updated_at) VALUES ($1, $2, $3, $4, $5, $6)
           ON CONFLICT (name) DO UPDATE SET latest = excluded.latest, last_version = excluded.last_version, traffic = excluded.traffic, created_at = excluded.created_at, updated_at = excluded.updated_at`,
          [fn.name, fn.latest, fn.lastVersion, fn.traffic, fn.createdAt, fn.updatedAt],
        );
      }
      for (const version of change.versions ?? []) {
        await query("INSERT INTO versions (function, version, sha256, manifest, description, created_at) VALUES ($1, $2, $3, $4, $5, $6)", [
          version.function,
          version.version,
          version.manifest.component.sha256,
          JSON.stringify(version.manifest),
          version.description ?? null,
          version.createdAt,
        ]);
      }
      for (const { function: fn, version } of change.deleteVersions ?? []) await query("DELETE FROM versions WHERE function = $1 AND version = $2", [fn, version]);
      for (const { function: fn, name } of change.deleteAliases ?? []) await query("DELETE FROM aliases WHERE function = $1 AND name = $2", [fn, name]);
      for (const alias of change.aliases ?? []) {
        await query(
          `INSERT INTO aliases (function, name, version, routing_version, routing_weight, description, updated_at) VALUES ($1, $2, $3, $4, $5, $6, $7)
           ON CONFLICT (function, name) DO UPDATE SET version = excluded.version, routing_version = excluded.routing_version, routing_weight = excluded.routing_weight,
             description = excluded.description, updated_at = excluded.updated_at`,
          [alias.function, alias.name, alias.version, alias.routing?.version ?? null, alias.routing?.weight ?? null, alias.description ?? null, alias.updatedAt],
        );
      }
      if (change.queues !== undefined) {
        await query("INSERT INTO settings (key, value) VALUES ('queues', $1) ON CONFLICT (key) DO UPDATE SET value = excluded.value", [JSON.stringify(change.queues)]);
      }
      // The other hosts learn of it once it commits (NOTIFY is sent then), or at their next re-read.
      await query("INSERT INTO settings (key, value) VALUES ('revision', '1') ON CONFLICT (key) DO UPDATE SET value = (settings.value::bigint + 1)::text");
      await query("SELECT pg_notify($1, $2)", [REGISTRY_CHANNEL, `${this.#schema} ${this.#key}`]);
    });
  }

  async putComponent(sha256: string, bytes: Uint8Array): Promise<void> {
    checkSha256(sha256);
    await this.#query("INSERT INTO components (sha256, bytes) VALUES ($1, $2) ON CONFLICT (sha256) DO NOTHING", [
      sha256,
      Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength),
    ]);
  }

  async getComponent(sha256: string): Promise<Uint8Array | undefined> {
    checkSha256(sha256);
    const row = (await this.#query("SELECT bytes FROM components WHERE sha256 = $1", [sha256])).rows[0];
    return row === undefined ? undefined : (row.bytes as Buffer);
  }

  async pruneComponents(): Promise<number> {
    return (await this.#query("DELETE FROM components c WHERE NOT EXISTS (SELECT 1 FROM versions v WHERE v.sha256 = c.sha256)")).rowCount;
  }

  async sendMessages(queue: string, messages: NewMessage[], now: number): Promise<string[]> {
    const ids = messages.map(() => randomUUID());
    if (ids.length === 0) return ids;
    await this.#query(
      `INSERT INTO messages (id, queue, body, attributes, sent_at, visible_at)
       SELECT id, $1, body, attributes, $2, visible_at FROM unnest($3::text[], $4::text[], $5::text[], $6::bigint[]) WITH ORDINALITY AS m(id, body, attributes, visible_at, n) ORDER BY n`,
      [
        queue,
        now,
        ids,
        messages.map((message) => message.body),
        messages.map((message) => JSON.stringify(message.attributes ?? {})),
        messages.map((message) => now + Math.max(0, message.delaySeconds ?? 0) * 1000),
      ],
    );
    return ids;
  }

  async receiveMessages(
    queue: string,
    options: { max: number; visibilityMs: number; now: number; deadLetterAfter: number; deadLetterQueue: string | undefined },
  ): Promise<{ messages: ReceivedMessage[]; deadLettered: number }> {
    const { max, visibilityMs, now, deadLetterAfter, deadLetterQueue } = options;
    return this.#transaction(async (query) => {
      const messages: ReceivedMessage[] = [];
      let deadLettered = 0;
      for (;;) {
        // Another host's candidates are skipped, not waited for: it is receiving them.
        const { rows } = await query(
          "SELECT id, receive_count FROM messages WHERE queue = $1 AND visible_at <= $2 ORDER BY visible_at, sent_at, seq LIMIT $3 FOR UPDATE SKIP LOCKED",
          [queue, now, limitOf(max - messages.length)],
        );
        if (rows.length === 0) break;
        const dead = rows.filter((row) => deadLetterQueue !== undefined && Number(row.receive_count) >= deadLetterAfter).map((row) => row.id as string);
        const claimed = rows.map((row) => row.id as string).filter((id) => !dead.includes(id));
        if (dead.length > 0) {
          await query(
            "UPDATE messages SET queue = $1, dead_lettered_from = $2, visible_at = $3, receive_count = 0, first_received_at = NULL, receipt = NULL WHERE id = ANY($4::text[])",
            [deadLetterQueue, queue, now, dead],
          );
          deadLettered += dead.length;
        }
        if (claimed.length > 0) {
          const updated = await query(
            `UPDATE messages m SET receive_count = m.receive_count + 1, first_received_at = COALESCE(m.first_received_at, $1), visible_at = $2, receipt = c.receipt
             FROM unnest($3::text[], $4::text[]) AS c(id, receipt) WHERE m.id = c.id RETURNING m.*`,
            [now, now + visibilityMs, claimed, claimed.map(() => randomUUID())],
          );
          const byId = new Map(updated.rows.map((row) => [row.id as string, row]));
          for (const id of claimed) messages.push(toMessage(byId.get(id)!));
        }
        if (messages.length >= max) break;
      }
      return { messages, deadLettered };
    });
  }

  async deleteMessages(queue: string, receiptHandles: string[]): Promise<number> {
    if (receiptHandles.length === 0) return 0;
    return (await this.#query("DELETE FROM messages WHERE queue = $1 AND receipt = ANY($2::text[])", [queue, receiptHandles])).rowCount;
  }

  async releaseMessages(queue: string, receiptHandles: string[], visibleAt: number): Promise<void> {
    if (receiptHandles.length === 0) return;
    await this.#query("UPDATE messages SET visible_at = $1, receipt = NULL WHERE queue = $2 AND receipt = ANY($3::text[])", [visibleAt, queue, receiptHandles]);
  }

  async listMessages(queue: string, limit: number): Promise<StoredMessage[]> {
    const { rows } = await this.#query("SELECT * FROM messages WHERE queue = $1 ORDER BY sent_at, visible_at, seq LIMIT $2", [queue, limitOf(limit)]);
    return rows.map((row) => {
      const { receiptHandle: _, ...message } = toMessage(row);
      return message;
    });
  }

  async redrive(deadLetterQueue: string, now: number): Promise<number> {
    return (
      await this.#query(
        "UPDATE messages SET queue = dead_lettered_from, dead_lettered_from = NULL, visible_at = $1, receive_count = 0, first_received_at = NULL, receipt = NULL WHERE queue = $2 AND dead_lettered_from IS NOT NULL",
        [now, deadLetterQueue],
      )
    ).rowCount;
  }

  async expireMessages(queue: string, before: number): Promise<number> {
    return (await this.#query("DELETE FROM messages WHERE queue = $1 AND sent_at < $2", [queue, before])).rowCount;
  }

  async countMessages(queue: string, now: number): Promise<QueueCounts> {
    const row = (
      await this.#query("SELECT COUNT(*) FILTER (WHERE visible_at <= $2) AS visible, COUNT(*) FILTER (WHERE visible_at > $2) AS in_flight FROM messages WHERE queue = $1", [queue, now])
    ).rows[0];
    return { visible: Number(row?.visible ?? 0), inFlight: Number(row?.in_flight ?? 0) };
  }

  async putAsync(invocation: AsyncInvocation): Promise<void> {
    await this.#query(
      "INSERT INTO async_invocations (id, function, qualifier, event, attempts, created_at, next_attempt_at, last_error) VALUES ($1, $2, $3, $4, $5, $6, $7, $8)",
      asyncRow(invocation),
    );
  }

  async claimAsync(now: number, leaseMs: number, limit: number): Promise<AsyncInvocation[]> {
    const { rows } = await this.#query(
      `WITH due AS (
         SELECT id, next_attempt_at AS due_at, seq FROM async_invocations WHERE next_attempt_at <= $1 ORDER BY next_attempt_at, seq LIMIT $2 FOR UPDATE SKIP LOCKED
       ), claimed AS (
         UPDATE async_invocations a SET attempts = a.attempts + 1, next_attempt_at = $3, claimed_by = $4 FROM due WHERE a.id = due.id RETURNING a.*, due.due_at
       )
       SELECT * FROM claimed ORDER BY due_at, seq`,
      [now, limitOf(limit), now + leaseMs, this.#key],
    );
    return rows.map(toAsync);
  }

  async retryAsync(id: string, nextAttemptAt: number, lastError: string): Promise<void> {
    await this.#query("UPDATE async_invocations SET next_attempt_at = $1, last_error = $2, claimed_by = NULL WHERE id = $3", [nextAttemptAt, lastError, id]);
  }

  async extendAsync(id: string, until: number): Promise<void> {
    await this.#query("UPDATE async_invocations SET next_attempt_at = GREATEST(next_attempt_at, $1) WHERE id = $2 AND claimed_by IS NOT NULL", [until, id]);
  }

  /**
   * Several hosts share this store, so "every claim left" is not every host's:
   * only this store's own claims and those whose owner's lock is gone end here.
   */
  recoverAsync(now: number): Promise<number> {
    return this.#recoverClaims(now, true);
  }

  recoverOrphanedAsync(now: number): Promise<number> {
    return this.#recoverClaims(now, false);
  }

  async #recoverClaims(now: number, own: boolean): Promise<number> {
    return (
      await this.#query(
        `UPDATE async_invocations SET next_attempt_at = LEAST(next_attempt_at, $1), claimed_by = NULL
         WHERE claimed_by IS NOT NULL AND ((claimed_by = $2 AND $4) OR (claimed_by <> $2 AND claimed_by NOT IN (
           SELECT objid::bigint FROM pg_locks
           WHERE locktype = 'advisory' AND granted AND classid = $3::bigint::oid AND objsubid = 2
             AND database = (SELECT oid FROM pg_database WHERE datname = current_database()))))`,
        [now, this.#key, OWNER_LOCK_CLASS, own],
      )
    ).rowCount;
  }

  async deleteAsync(id: string): Promise<void> {
    await this.#query("DELETE FROM async_invocations WHERE id = $1", [id]);
  }

  async countAsync(): Promise<number> {
    return Number((await this.#query("SELECT COUNT(*) AS n FROM async_invocations")).rows[0]?.n ?? 0);
  }

  async putAsyncFailure(failure: AsyncFailure): Promise<void> {
    // A replaced failure sorts as a new row, as SQLite's INSERT OR REPLACE gives it a new rowid.
    await this.#query(
      `INSERT INTO async_failures (id, function, failed_at, record) VALUES ($1, $2, $3, $4)
       ON CONFLICT (id) DO UPDATE SET function = excluded.function, failed_at = excluded.failed_at, record = excluded.record, seq = DEFAULT`,
      [failure.id, failure.function, failure.failedAt, JSON.stringify(failure.record)],
    );
  }

  async listAsyncFailures(functionName: string | undefined, limit: number): Promise<AsyncFailure[]> {
    const { rows } =
      functionName === undefined
        ? await this.#query("SELECT * FROM async_failures ORDER BY failed_at DESC, seq LIMIT $1", [limitOf(limit)])
        : await this.#query("SELECT * FROM async_failures WHERE function = $1 ORDER BY failed_at DESC, seq LIMIT $2", [functionName, limitOf(limit)]);
    return rows.map(toFailure);
  }

  async claimFiring(schedule: string, dueAt: number, now: number, requestId?: string): Promise<boolean> {
    return this.#transaction(async (query) => {
      // A second host taking the same firing waits for the first's commit, then inserts nothing.
      const inserted = await query("INSERT INTO schedule_firings (schedule, due_at, fired_at, request_id) VALUES ($1, $2, $3, $4) ON CONFLICT DO NOTHING", [
        schedule,
        dueAt,
        now,
        requestId ?? null,
      ]);
      // Only recent firings matter (the latest, and any a clock step could repeat).
      await query("DELETE FROM schedule_firings WHERE schedule = $1 AND due_at < $2", [schedule, dueAt - FIRING_MEMORY_MS]);
      return inserted.rowCount === 1;
    });
  }

  async firingRunning(schedule: string): Promise<boolean> {
    const row = (await this.#query("SELECT EXISTS (SELECT 1 FROM schedule_firings f JOIN async_invocations a ON a.id = f.request_id WHERE f.schedule = $1) AS running", [schedule])).rows[0];
    return row?.running === true;
  }

  async lastFiring(schedule: string): Promise<number | undefined> {
    const row = (await this.#query("SELECT MAX(due_at) AS due FROM schedule_firings WHERE schedule = $1", [schedule])).rows[0];
    return row?.due === null || row?.due === undefined ? undefined : Number(row.due);
  }

  close(): Promise<void> {
    // Destroying the owner connection drops its lock: this store's claims are recoverable at once.
    this.#closed ??= (async () => {
      this.#owner.release(true);
      await this.#pool.end();
    })();
    return this.#closed;
  }
}
