// The embedded store: node:sqlite in the host's data directory, WAL mode,
// versioned migrations. Every commit is synced to disk (synchronous=FULL),
// so what was acknowledged survives a process crash and a power loss. One
// host at a time; a shared-server store is the way to many hosts.
import { randomUUID } from "node:crypto";
import { mkdirSync } from "node:fs";
import { access, open, readdir, readFile, rename, rm } from "node:fs/promises";
import { join } from "node:path";
import type { DatabaseSync, StatementSync } from "node:sqlite";
import { WfnError } from "../errors.js";
import { lockDataDir } from "./data-dir-lock.js";
import { storeFailure } from "./failures.js";
import type { KvStore } from "./kv.js";
import { KV_MIGRATION, SqliteKv } from "./sqlite-kv.js";
import { asyncRow, toAsync, toFailure, toMessage, toRegistry, type Row } from "./rows.js";
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

const STORE_FILE = "wfn.sqlite";
/** Deployed components, one file per SHA-256, beside the database. */
const COMPONENTS_DIR = "components";

/** Each entry moves the schema one version up; never edit one that shipped. */
const MIGRATIONS: string[] = [
  `CREATE TABLE messages (
     id TEXT PRIMARY KEY,
     queue TEXT NOT NULL,
     body TEXT NOT NULL,
     attributes TEXT NOT NULL,
     sent_at INTEGER NOT NULL,
     visible_at INTEGER NOT NULL,
     receive_count INTEGER NOT NULL DEFAULT 0,
     first_received_at INTEGER,
     receipt TEXT,
     dead_lettered_from TEXT
   );
   CREATE INDEX messages_receivable ON messages (queue, visible_at);
   CREATE UNIQUE INDEX messages_receipt ON messages (receipt) WHERE receipt IS NOT NULL;
   CREATE TABLE async_invocations (
     id TEXT PRIMARY KEY,
     function TEXT NOT NULL,
     qualifier TEXT,
     event TEXT NOT NULL,
     attempts INTEGER NOT NULL DEFAULT 0,
     created_at INTEGER NOT NULL,
     next_attempt_at INTEGER NOT NULL,
     last_error TEXT,
     claimed INTEGER NOT NULL DEFAULT 0
   );
   CREATE INDEX async_due ON async_invocations (next_attempt_at);
   CREATE TABLE async_failures (
     id TEXT PRIMARY KEY,
     function TEXT NOT NULL,
     failed_at INTEGER NOT NULL,
     record TEXT NOT NULL
   );
   CREATE TABLE schedule_firings (
     schedule TEXT NOT NULL,
     due_at INTEGER NOT NULL,
     fired_at INTEGER NOT NULL,
     PRIMARY KEY (schedule, due_at)
   );`,
  `CREATE TABLE functions (
     name TEXT PRIMARY KEY,
     latest INTEGER NOT NULL,
     last_version INTEGER NOT NULL,
     traffic TEXT NOT NULL,
     created_at INTEGER NOT NULL,
     updated_at INTEGER NOT NULL
   );
   CREATE TABLE versions (
     function TEXT NOT NULL,
     version INTEGER NOT NULL,
     sha256 TEXT NOT NULL,
     manifest TEXT NOT NULL,
     description TEXT,
     created_at INTEGER NOT NULL,
     PRIMARY KEY (function, version)
   );
   CREATE TABLE aliases (
     function TEXT NOT NULL,
     name TEXT NOT NULL,
     version INTEGER NOT NULL,
     routing_version INTEGER,
     routing_weight REAL,
     description TEXT,
     updated_at INTEGER NOT NULL,
     PRIMARY KEY (function, name)
   );
   CREATE TABLE settings (
     key TEXT PRIMARY KEY,
     value TEXT NOT NULL
   );`,
  KV_MIGRATION,
  // The invocation that runs each taken firing: overlap is judged by whether it is still in the store.
  `ALTER TABLE schedule_firings ADD COLUMN request_id TEXT;`,
];


/** How long a schedule's taken firings are remembered. */
const FIRING_MEMORY_MS = 86_400_000;

/** Opens (creating or migrating) the store in `dataDir`; in memory when `dataDir` is undefined. */
export async function openSqliteStore(dataDir: string | undefined): Promise<Store> {
  const { DatabaseSync } = await import("node:sqlite");
  const path = dataDir === undefined ? ":memory:" : join(dataDir, STORE_FILE);
  let db: DatabaseSync | undefined;
  let lock: (() => void) | undefined;
  let blobs: Blobs = new MemoryBlobs();
  try {
    if (dataDir !== undefined) {
      mkdirSync(join(dataDir, COMPONENTS_DIR), { recursive: true });
      lock = await lockDataDir(dataDir);
      const files = new FileBlobs(dataDir);
      // No one else writes there while the lock is held: a temporary file is what a killed deploy left.
      await files.removeUnfinished();
      blobs = files;
    }
    db = new DatabaseSync(path);
    db.exec("PRAGMA journal_mode = WAL; PRAGMA synchronous = FULL; PRAGMA busy_timeout = 5000;");
    migrate(db);
  } catch (cause) {
    db?.close();
    lock?.();
    const failure = storeFailure(cause, dataDir);
    if (failure instanceof WfnError) throw failure;
    throw new WfnError("WFN_INVALID_CONFIG", `cannot open the host's store ${path}: ${(cause as Error).message}`, { cause });
  }
  return new SqliteStore(db, blobs, lock, dataDir);
}

function migrate(db: DatabaseSync): void {
  const current = Number((db.prepare("PRAGMA user_version").get() as Row).user_version);
  if (current > MIGRATIONS.length) {
    throw new Error(`the store was written by a newer wfn (schema ${current}, this one knows ${MIGRATIONS.length})`);
  }
  for (let version = current; version < MIGRATIONS.length; version++) {
    transaction(db, () => {
      db.exec(MIGRATIONS[version]!);
      db.exec(`PRAGMA user_version = ${version + 1}`);
    });
  }
}

function transaction<T>(db: DatabaseSync, body: () => T): T {
  db.exec("BEGIN IMMEDIATE");
  try {
    const result = body();
    db.exec("COMMIT");
    return result;
  } catch (error) {
    // After some failures (a full disk, for one) SQLite has rolled back already; a ROLLBACK
    // then throws "no transaction is active", and must never hide the error that matters.
    if (db.isTransaction) {
      try {
        db.exec("ROLLBACK");
      } catch {
        // the original error is the one to report
      }
    }
    throw error;
  }
}

/** Where component bytes are kept. */
interface Blobs {
  put(sha256: string, bytes: Uint8Array): Promise<void>;
  get(sha256: string): Promise<Uint8Array | undefined>;
  list(): Promise<string[]>;
  remove(sha256: string): Promise<void>;
}

class MemoryBlobs implements Blobs {
  readonly #blobs = new Map<string, Uint8Array>();
  async put(sha256: string, bytes: Uint8Array): Promise<void> {
    this.#blobs.set(sha256, bytes);
  }
  async get(sha256: string): Promise<Uint8Array | undefined> {
    return this.#blobs.get(sha256);
  }
  async list(): Promise<string[]> {
    return [...this.#blobs.keys()];
  }
  async remove(sha256: string): Promise<void> {
    this.#blobs.delete(sha256);
  }
}

/** Files named by hash, written to a temporary name, synced, then renamed: never half a component. */
class FileBlobs implements Blobs {
  readonly #dataDir: string;
  readonly #dir: string;
  constructor(dataDir: string) {
    this.#dataDir = dataDir;
    this.#dir = join(dataDir, COMPONENTS_DIR);
  }
  #path(sha256: string): string {
    if (!/^[0-9a-f]{64}$/.test(sha256)) throw new Error(`not a SHA-256: ${sha256}`);
    return join(this.#dir, `${sha256}.wasm`);
  }
  async put(sha256: string, bytes: Uint8Array): Promise<void> {
    const path = this.#path(sha256);
    try {
      await access(path);
      return;
    } catch {
      // not there yet
    }
    const temp = `${path}.tmp-${process.pid}-${randomUUID()}`;
    try {
      const file = await open(temp, "w");
      try {
        await file.writeFile(bytes);
        await file.sync();
      } finally {
        await file.close();
      }
      await rename(temp, path);
    } catch (error) {
      await rm(temp, { force: true });
      throw storeFailure(error, this.#dataDir);
    }
  }
  /** Removes the temporary files of puts that never finished (the process was killed). */
  async removeUnfinished(): Promise<void> {
    const unfinished = (await readdir(this.#dir)).filter((name) => /^[0-9a-f]{64}\.wasm\.tmp-/.test(name));
    await Promise.all(unfinished.map((name) => rm(join(this.#dir, name), { force: true })));
  }
  async get(sha256: string): Promise<Uint8Array | undefined> {
    try {
      return await readFile(this.#path(sha256));
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === "ENOENT") return undefined;
      throw error;
    }
  }
  async list(): Promise<string[]> {
    return (await readdir(this.#dir)).filter((name) => /^[0-9a-f]{64}\.wasm$/.test(name)).map((name) => name.slice(0, 64));
  }
  async remove(sha256: string): Promise<void> {
    await rm(this.#path(sha256), { force: true });
  }
}

class SqliteStore implements Store {
  readonly #db: DatabaseSync;
  readonly #blobs: Blobs;
  readonly #statements = new Map<string, StatementSync>();

  readonly #unlock: (() => void) | undefined;
  readonly #dataDir: string | undefined;

  readonly kv: KvStore;

  constructor(db: DatabaseSync, blobs: Blobs, unlock: (() => void) | undefined, dataDir: string | undefined) {
    this.kv = new SqliteKv({ sql: (text) => this.#sql(text), write: (body) => this.#write(body) });
    this.#db = db;
    this.#blobs = blobs;
    this.#unlock = unlock;
    this.#dataDir = dataDir;
  }

  /** Every write: one transaction, and a full disk reported as such, whatever the statement. */
  #write<T>(body: () => T): T {
    try {
      return transaction(this.#db, body);
    } catch (error) {
      throw storeFailure(error, this.#dataDir);
    }
  }

  async loadRegistry(): Promise<RegistrySnapshot> {
    return toRegistry(
      this.#sql("SELECT * FROM functions ORDER BY name").all() as Row[],
      this.#sql("SELECT * FROM versions ORDER BY function, version").all() as Row[],
      this.#sql("SELECT * FROM aliases ORDER BY function, name").all() as Row[],
      this.#sql("SELECT value FROM settings WHERE key = 'queues'").get() as Row | undefined,
    );
  }

  /** One host uses this store: its own changes are already one at a time (deploy/deployments.ts). */
  withRegistryLock<T>(body: () => Promise<T>): Promise<T> {
    return body();
  }

  async saveRegistry(change: RegistryChange): Promise<void> {
    this.#write(() => {
      for (const name of change.deleteFunctions ?? []) {
        this.#sql("DELETE FROM functions WHERE name = ?").run(name);
        this.#sql("DELETE FROM versions WHERE function = ?").run(name);
        this.#sql("DELETE FROM aliases WHERE function = ?").run(name);
      }
      for (const fn of change.functions ?? []) {
        this.#sql("INSERT OR REPLACE INTO functions (name, latest, last_version, traffic, created_at, updated_at) VALUES (?, ?, ?, ?, ?, ?)").run(
          fn.name,
          fn.latest,
          fn.lastVersion,
          fn.traffic,
          fn.createdAt,
          fn.updatedAt,
        );
      }
      for (const version of change.versions ?? []) {
        this.#sql("INSERT INTO versions (function, version, sha256, manifest, description, created_at) VALUES (?, ?, ?, ?, ?, ?)").run(
          version.function,
          version.version,
          version.manifest.component.sha256,
          JSON.stringify(version.manifest),
          version.description ?? null,
          version.createdAt,
        );
      }
      for (const { function: fn, version } of change.deleteVersions ?? []) this.#sql("DELETE FROM versions WHERE function = ? AND version = ?").run(fn, version);
      for (const { function: fn, name } of change.deleteAliases ?? []) this.#sql("DELETE FROM aliases WHERE function = ? AND name = ?").run(fn, name);
      for (const alias of change.aliases ?? []) {
        this.#sql(
          "INSERT OR REPLACE INTO aliases (function, name, version, routing_version, routing_weight, description, updated_at) VALUES (?, ?, ?, ?, ?, ?, ?)",
        ).run(alias.function, alias.name, alias.version, alias.routing?.version ?? null, alias.routing?.weight ?? null, alias.description ?? null, alias.updatedAt);
      }
      if (change.queues !== undefined) this.#sql("INSERT OR REPLACE INTO settings (key, value) VALUES ('queues', ?)").run(JSON.stringify(change.queues));
    });
  }

  putComponent(sha256: string, bytes: Uint8Array): Promise<void> {
    return this.#blobs.put(sha256, bytes);
  }

  getComponent(sha256: string): Promise<Uint8Array | undefined> {
    return this.#blobs.get(sha256);
  }

  async pruneComponents(): Promise<number> {
    const used = new Set((this.#sql("SELECT DISTINCT sha256 FROM versions").all() as Row[]).map((row) => row.sha256 as string));
    let removed = 0;
    for (const sha256 of await this.#blobs.list()) {
      if (used.has(sha256)) continue;
      await this.#blobs.remove(sha256);
      removed++;
    }
    return removed;
  }

  #sql(text: string): StatementSync {
    let statement = this.#statements.get(text);
    if (statement === undefined) {
      statement = this.#db.prepare(text);
      this.#statements.set(text, statement);
    }
    return statement;
  }

  async sendMessages(queue: string, messages: NewMessage[], now: number): Promise<string[]> {
    const insert = this.#sql(
      "INSERT INTO messages (id, queue, body, attributes, sent_at, visible_at) VALUES (?, ?, ?, ?, ?, ?)",
    );
    return this.#write(() =>
      messages.map((message) => {
        const id = randomUUID();
        insert.run(id, queue, message.body, JSON.stringify(message.attributes ?? {}), now, now + Math.max(0, message.delaySeconds ?? 0) * 1000);
        return id;
      }),
    );
  }

  async receiveMessages(
    queue: string,
    options: { max: number; visibilityMs: number; now: number; deadLetterAfter: number; deadLetterQueue: string | undefined },
  ): Promise<{ messages: ReceivedMessage[]; deadLettered: number }> {
    const { max, visibilityMs, now, deadLetterAfter, deadLetterQueue } = options;
    const candidates = this.#sql("SELECT id, receive_count FROM messages WHERE queue = ? AND visible_at <= ? ORDER BY visible_at, sent_at LIMIT ?");
    const claim = this.#sql(
      "UPDATE messages SET receive_count = receive_count + 1, first_received_at = COALESCE(first_received_at, ?), visible_at = ?, receipt = ? WHERE id = ? RETURNING *",
    );
    const move = this.#sql("UPDATE messages SET queue = ?, dead_lettered_from = ?, visible_at = ?, receive_count = 0, first_received_at = NULL, receipt = NULL WHERE id = ?");
    return this.#write(() => {
      const messages: ReceivedMessage[] = [];
      let deadLettered = 0;
      for (;;) {
        const rows = candidates.all(queue, now, max - messages.length) as Row[];
        if (rows.length === 0) break;
        for (const row of rows) {
          if (deadLetterQueue !== undefined && Number(row.receive_count) >= deadLetterAfter) {
            move.run(deadLetterQueue, queue, now, row.id as string);
            deadLettered++;
          } else {
            messages.push(toMessage(claim.get(now, now + visibilityMs, randomUUID(), row.id as string) as Row));
          }
        }
        if (messages.length >= max) break;
      }
      return { messages, deadLettered };
    });
  }

  async deleteMessages(queue: string, receiptHandles: string[]): Promise<number> {
    const remove = this.#sql("DELETE FROM messages WHERE queue = ? AND receipt = ?");
    return this.#write(() => receiptHandles.reduce((sum, handle) => sum + Number(remove.run(queue, handle).changes), 0));
  }

  async releaseMessages(queue: string, receiptHandles: string[], visibleAt: number): Promise<void> {
    const release = this.#sql("UPDATE messages SET visible_at = ?, receipt = NULL WHERE queue = ? AND receipt = ?");
    this.#write(() => {
      for (const handle of receiptHandles) release.run(visibleAt, queue, handle);
    });
  }

  async listMessages(queue: string, limit: number): Promise<StoredMessage[]> {
    return (this.#sql("SELECT * FROM messages WHERE queue = ? ORDER BY sent_at LIMIT ?").all(queue, limit) as Row[]).map((row) => {
      const { receiptHandle: _, ...message } = toMessage(row);
      return message;
    });
  }

  async redrive(deadLetterQueue: string, now: number): Promise<number> {
    const back = this.#sql(
      "UPDATE messages SET queue = dead_lettered_from, dead_lettered_from = NULL, visible_at = ?, receive_count = 0, first_received_at = NULL, receipt = NULL WHERE queue = ? AND dead_lettered_from IS NOT NULL",
    );
    return this.#write(() => Number(back.run(now, deadLetterQueue).changes));
  }

  async expireMessages(queue: string, before: number): Promise<number> {
    return this.#write(() => Number(this.#sql("DELETE FROM messages WHERE queue = ? AND sent_at < ?").run(queue, before).changes));
  }

  async countMessages(queue: string, now: number): Promise<QueueCounts> {
    const row = this.#sql(
      "SELECT SUM(CASE WHEN visible_at <= ? THEN 1 ELSE 0 END) AS visible, SUM(CASE WHEN visible_at > ? THEN 1 ELSE 0 END) AS in_flight FROM messages WHERE queue = ?",
    ).get(now, now, queue) as Row;
    return { visible: Number(row.visible ?? 0), inFlight: Number(row.in_flight ?? 0) };
  }

  async putAsync(invocation: AsyncInvocation): Promise<void> {
    const insert = this.#sql(
      "INSERT INTO async_invocations (id, function, qualifier, event, attempts, created_at, next_attempt_at, last_error) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
    );
    this.#write(() => insert.run(...asyncRow(invocation)));
  }

  async claimAsync(now: number, leaseMs: number, limit: number): Promise<AsyncInvocation[]> {
    const due = this.#sql("SELECT id FROM async_invocations WHERE next_attempt_at <= ? ORDER BY next_attempt_at LIMIT ?");
    const claim = this.#sql("UPDATE async_invocations SET attempts = attempts + 1, next_attempt_at = ?, claimed = 1 WHERE id = ? RETURNING *");
    return this.#write(() => (due.all(now, limit) as Row[]).map((row) => toAsync(claim.get(now + leaseMs, row.id as string) as Row)));
  }

  async retryAsync(id: string, nextAttemptAt: number, lastError: string): Promise<void> {
    this.#write(() => this.#sql("UPDATE async_invocations SET next_attempt_at = ?, last_error = ?, claimed = 0 WHERE id = ?").run(nextAttemptAt, lastError, id));
  }

  async extendAsync(id: string, until: number): Promise<void> {
    this.#write(() => this.#sql("UPDATE async_invocations SET next_attempt_at = MAX(next_attempt_at, ?) WHERE id = ? AND claimed = 1").run(until, id));
  }

  async recoverAsync(now: number): Promise<number> {
    return this.#write(() => Number(this.#sql("UPDATE async_invocations SET next_attempt_at = MIN(next_attempt_at, ?), claimed = 0 WHERE claimed = 1").run(now).changes));
  }

  async deleteAsync(id: string): Promise<void> {
    this.#write(() => this.#sql("DELETE FROM async_invocations WHERE id = ?").run(id));
  }

  async countAsync(): Promise<number> {
    return Number((this.#sql("SELECT COUNT(*) AS n FROM async_invocations").get() as Row).n);
  }

  async putAsyncFailure(failure: AsyncFailure): Promise<void> {
    const insert = this.#sql("INSERT OR REPLACE INTO async_failures (id, function, failed_at, record) VALUES (?, ?, ?, ?)");
    this.#write(() => insert.run(failure.id, failure.function, failure.failedAt, JSON.stringify(failure.record)));
  }

  async listAsyncFailures(functionName: string | undefined, limit: number): Promise<AsyncFailure[]> {
    const rows = (
      functionName === undefined
        ? this.#sql("SELECT * FROM async_failures ORDER BY failed_at DESC LIMIT ?").all(limit)
        : this.#sql("SELECT * FROM async_failures WHERE function = ? ORDER BY failed_at DESC LIMIT ?").all(functionName, limit)
    ) as Row[];
    return rows.map(toFailure);
  }

  async claimFiring(schedule: string, dueAt: number, now: number, requestId?: string): Promise<boolean> {
    return this.#write(() => {
      const result = this.#sql("INSERT OR IGNORE INTO schedule_firings (schedule, due_at, fired_at, request_id) VALUES (?, ?, ?, ?)").run(schedule, dueAt, now, requestId ?? null);
      // Only recent firings matter (the latest, and any a clock step could repeat).
      this.#sql("DELETE FROM schedule_firings WHERE schedule = ? AND due_at < ?").run(schedule, dueAt - FIRING_MEMORY_MS);
      return Number(result.changes) === 1;
    });
  }

  async firingRunning(schedule: string): Promise<boolean> {
    const row = this.#sql("SELECT EXISTS (SELECT 1 FROM schedule_firings f JOIN async_invocations a ON a.id = f.request_id WHERE f.schedule = ?) AS running").get(schedule) as Row;
    return Number(row.running) === 1;
  }

  async lastFiring(schedule: string): Promise<number | undefined> {
    const row = this.#sql("SELECT MAX(due_at) AS due FROM schedule_firings WHERE schedule = ?").get(schedule) as Row;
    return row.due === null || row.due === undefined ? undefined : Number(row.due);
  }

  async close(): Promise<void> {
    this.#statements.clear();
    this.#db.close();
    this.#unlock?.();
  }
}
