// The store's contract, run against every implementation: the embedded
// SQLite store (in memory and in a data directory) and PostgreSQL (a real
// server, a fresh schema per test). Where several hosts share one store,
// two handles on the same data stand for two hosts.
import { randomUUID } from "node:crypto";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { Manifest } from "../runtime/src/artifact/manifest.js";
import type { Store, VersionRecord } from "../runtime/src/store/store.js";
import { openSqliteStore } from "../runtime/src/store/sqlite.js";
import { openPostgresStore } from "../runtime/src/store/postgres.js";
import { startPostgres, type TestPostgres } from "./helpers/postgres.js";

interface Backend {
  name: string;
  /** Opens a store on fresh data; `second()` opens another handle on the same data (another host), where the backend has more than one. */
  open(): Promise<{ store: Store; second?: () => Promise<Store>; close(): Promise<void> }>;
}

let postgres: TestPostgres | undefined;
beforeAll(async () => {
  postgres = await startPostgres();
}, 60_000);
afterAll(async () => postgres?.stop());

const backends: Backend[] = [
  {
    name: "sqlite in memory",
    async open() {
      const store = await openSqliteStore(undefined);
      return { store, close: () => store.close() };
    },
  },
  {
    name: "sqlite in a data directory",
    async open() {
      const dir = await mkdtemp(join(tmpdir(), "wfn-store-"));
      const store = await openSqliteStore(dir);
      return {
        store,
        async close() {
          await store.close();
          await rm(dir, { recursive: true, force: true });
        },
      };
    },
  },
  {
    name: "postgres",
    async open() {
      const schema = `test_${randomUUID().replace(/-/g, "")}`;
      const handles: Store[] = [await openPostgresStore(postgres!.url, { schema })];
      return {
        store: handles[0]!,
        async second() {
          const other = await openPostgresStore(postgres!.url, { schema });
          handles.push(other);
          return other;
        },
        close: async () => void (await Promise.all(handles.map((handle) => handle.close()))),
      };
    },
  },
];

const manifest = (name: string, sha256: string) => ({ name, world: "wfn:function/function@0.1.0", component: { sha256, bytes: 3 }, config: { routes: [`GET /${name}`] } }) as unknown as Manifest;
const version = (fn: string, n: number, sha256 = "a".repeat(64)): VersionRecord => ({ function: fn, version: n, manifest: manifest(fn, sha256), description: n === 1 ? "first" : undefined, createdAt: 1000 + n });
const fnRecord = (name: string, latest: number) => ({ name, latest, lastVersion: latest, traffic: "$LATEST", createdAt: 1000, updatedAt: 2000 + latest });

/** Runs `test` on a fresh store of each backend. */
function each(title: string, test: (store: Store, backend: Awaited<ReturnType<Backend["open"]>>) => Promise<void>): void {
  for (const backend of backends) {
    it(`${title} (${backend.name})`, async () => {
      const opened = await backend.open();
      try {
        await test(opened.store, opened);
      } finally {
        await opened.close();
      }
    });
  }
}

describe("the store's registry", () => {
  it("tells the other hosts of a shared store when what is deployed changes, and makes changes one at a time across them (postgres)", async () => {
    const schema = `test_${randomUUID().replace(/-/g, "")}`;
    const [first, second] = await Promise.all([openPostgresStore(postgres!.url, { schema }), openPostgresStore(postgres!.url, { schema })]);
    const unfollow: Array<() => void> = [];
    try {
      let heardFirst = 0;
      let heardSecond = 0;
      unfollow.push(first.followRegistry!(() => heardFirst++), second.followRegistry!(() => heardSecond++));
      await new Promise((resolve) => setTimeout(resolve, 200)); // both LISTENing
      await second.saveRegistry({ functions: [fnRecord("a", 1)], versions: [version("a", 1)] });
      await expect.poll(() => heardFirst, { interval: 10, timeout: 3000 }).toBe(1);
      // A host is not told of its own changes (until its revision re-read, seconds later).
      expect(heardSecond).toBe(0);

      const inside: string[] = [];
      const hold = (store: Store, name: string) =>
        store.withRegistryLock(async () => {
          inside.push(`${name} in`);
          await new Promise((resolve) => setTimeout(resolve, 150));
          inside.push(`${name} out`);
        });
      await Promise.all([hold(first, "first"), hold(second, "second"), hold(first, "third")]);
      for (let i = 0; i < inside.length; i += 2) expect(inside[i + 1]).toBe(inside[i]!.replace(" in", " out"));
    } finally {
      for (const stop of unfollow) stop();
      await Promise.all([first.close(), second.close()]);
    }
  });

  each("keeps functions, versions, aliases and queues, and loads them back in order", async (store) => {
    expect(await store.loadRegistry()).toEqual({ functions: [], versions: [], aliases: [], queues: undefined });
    await store.saveRegistry({
      functions: [fnRecord("b", 2), fnRecord("a", 1)],
      versions: [version("b", 2), version("a", 1), version("b", 1)],
      aliases: [{ function: "b", name: "live", version: 1, routing: { version: 2, weight: 0.25 }, description: "canary", updatedAt: 5 }],
      queues: { jobs: { visibilityTimeoutSeconds: 30 } } as never,
    });
    const loaded = await store.loadRegistry();
    expect(loaded.functions.map((f) => f.name)).toEqual(["a", "b"]);
    expect(loaded.functions[1]).toEqual(fnRecord("b", 2));
    expect(loaded.versions.map((v) => `${v.function}:${v.version}`)).toEqual(["a:1", "b:1", "b:2"]);
    expect(loaded.versions[1]).toEqual(version("b", 1));
    expect(loaded.aliases).toEqual([{ function: "b", name: "live", version: 1, routing: { version: 2, weight: 0.25 }, description: "canary", updatedAt: 5 }]);
    expect(loaded.queues).toEqual({ jobs: { visibilityTimeoutSeconds: 30 } });

    await store.saveRegistry({ aliases: [{ function: "b", name: "live", version: 2, routing: undefined, description: undefined, updatedAt: 6 }], deleteVersions: [{ function: "b", version: 1 }] });
    const changed = await store.loadRegistry();
    expect(changed.aliases).toEqual([{ function: "b", name: "live", version: 2, routing: undefined, description: undefined, updatedAt: 6 }]);
    expect(changed.versions.map((v) => `${v.function}:${v.version}`)).toEqual(["a:1", "b:2"]);

    await store.saveRegistry({ deleteFunctions: ["b"] });
    const left = await store.loadRegistry();
    expect(left.functions.map((f) => f.name)).toEqual(["a"]);
    expect(left.versions.map((v) => v.function)).toEqual(["a"]);
    expect(left.aliases).toEqual([]);
  });

  each("applies a change all or nothing: a version given twice leaves everything as it was", async (store) => {
    await store.saveRegistry({ functions: [fnRecord("a", 1)], versions: [version("a", 1)] });
    const before = await store.loadRegistry();
    await expect(store.saveRegistry({ functions: [fnRecord("a", 2)], aliases: [{ function: "a", name: "x", version: 1, routing: undefined, description: undefined, updatedAt: 1 }], versions: [version("a", 1)] })).rejects.toThrow();
    expect(await store.loadRegistry()).toEqual(before);
  });

  each("keeps components by hash and forgets only those no version uses", async (store) => {
    const used = "1".repeat(64);
    const unused = "2".repeat(64);
    await store.putComponent(used, Uint8Array.of(1, 2, 3));
    await store.putComponent(used, Uint8Array.of(1, 2, 3));
    await store.putComponent(unused, Uint8Array.of(9));
    await store.saveRegistry({ functions: [fnRecord("a", 1)], versions: [version("a", 1, used)] });
    expect(Array.from((await store.getComponent(used))!)).toEqual([1, 2, 3]);
    expect(await store.getComponent("3".repeat(64))).toBeUndefined();
    expect(await store.pruneComponents()).toBe(1);
    expect(await store.getComponent(unused)).toBeUndefined();
    expect(Array.from((await store.getComponent(used))!)).toEqual([1, 2, 3]);
  });
});

const receive = (store: Store, queue: string, now: number, extra: Partial<{ max: number; visibilityMs: number; deadLetterAfter: number; deadLetterQueue: string }> = {}) =>
  store.receiveMessages(queue, { max: 10, visibilityMs: 1000, now, deadLetterAfter: 3, deadLetterQueue: undefined, ...extra });

describe("the store's queues", () => {
  each("hands each message out once per visibility timeout, counts it, and deletes it by its receipt", async (store) => {
    const ids = await store.sendMessages("q", [{ body: "one", attributes: { k: "v" } }, { body: "two" }, { body: "later", delaySeconds: 5 }], 1000);
    expect(ids).toHaveLength(3);
    expect(await store.countMessages("q", 1000)).toEqual({ visible: 2, inFlight: 1 });
    const first = await receive(store, "q", 1000, { max: 1 });
    expect(first.messages.map((m) => m.body)).toEqual(["one"]);
    expect(first.messages[0]).toMatchObject({ id: ids[0], queue: "q", attributes: { k: "v" }, sentAt: 1000, receiveCount: 1, firstReceivedAt: 1000, visibleAt: 2000, deadLetteredFrom: undefined });
    const second = await receive(store, "q", 1000);
    expect(second.messages.map((m) => m.body)).toEqual(["two"]);
    expect(await store.countMessages("q", 1000)).toEqual({ visible: 0, inFlight: 3 });
    // After its visibility timeout the first comes back with a new receipt; the old one deletes nothing.
    const again = await receive(store, "q", 2000, { max: 1 });
    expect(again.messages[0]).toMatchObject({ id: ids[0], receiveCount: 2, firstReceivedAt: 1000 });
    expect(await store.deleteMessages("q", [first.messages[0]!.receiptHandle])).toBe(0);
    expect(await store.deleteMessages("q", [again.messages[0]!.receiptHandle, second.messages[0]!.receiptHandle])).toBe(2);
    expect(await store.countMessages("q", 2000)).toEqual({ visible: 0, inFlight: 1 });
    expect((await receive(store, "q", 6000)).messages.map((m) => m.body)).toEqual(["later"]);
  });

  each("releases messages for later, dead-letters after deadLetterAfter receives, and redrives them", async (store) => {
    const [id] = await store.sendMessages("q", [{ body: "poison" }], 1000);
    let now = 1000;
    for (let attempt = 1; attempt <= 2; attempt++) {
      const { messages } = await receive(store, "q", now, { deadLetterAfter: 2, deadLetterQueue: "q-dlq" });
      expect(messages.map((m) => m.receiveCount)).toEqual([attempt]);
      await store.releaseMessages("q", [messages[0]!.receiptHandle], now + 10);
      now += 10;
    }
    const moved = await receive(store, "q", now, { deadLetterAfter: 2, deadLetterQueue: "q-dlq" });
    expect(moved).toEqual({ messages: [], deadLettered: 1 });
    const letters = await store.listMessages("q-dlq", 10);
    expect(letters).toEqual([expect.objectContaining({ id, queue: "q-dlq", body: "poison", receiveCount: 0, deadLetteredFrom: "q" })]);
    expect(await store.redrive("q-dlq", now)).toBe(1);
    expect(await store.listMessages("q-dlq", 10)).toEqual([]);
    expect((await receive(store, "q", now)).messages).toEqual([expect.objectContaining({ id, receiveCount: 1, deadLetteredFrom: undefined })]);
  });

  each("expires messages sent before the retention limit", async (store) => {
    await store.sendMessages("q", [{ body: "old" }], 1000);
    await store.sendMessages("q", [{ body: "new" }], 5000);
    await store.sendMessages("other", [{ body: "old elsewhere" }], 1000);
    expect(await store.expireMessages("q", 2000)).toBe(1);
    expect((await store.listMessages("q", 10)).map((m) => m.body)).toEqual(["new"]);
    expect((await store.listMessages("other", 10)).map((m) => m.body)).toEqual(["old elsewhere"]);
  });

  each("never hands one message to two consumers at once, even on two hosts", async (store, opened) => {
    const other = (await opened.second?.()) ?? store;
    await store.sendMessages("q", Array.from({ length: 40 }, (_, i) => ({ body: `m${i}` })), 1000);
    const batches = await Promise.all(Array.from({ length: 8 }, (_, i) => receive(i % 2 === 0 ? store : other, "q", 1000, { max: 7 })));
    const bodies = batches.flatMap((batch) => batch.messages.map((m) => m.body));
    expect(bodies).toHaveLength(40);
    expect(new Set(bodies).size).toBe(40);
  });
});

describe("the store's asynchronous invocations and schedules", () => {
  const invocation = (id: string, nextAttemptAt: number) => ({ id, function: "f", qualifier: undefined, event: "{}", attempts: 0, createdAt: 1000, nextAttemptAt, lastError: undefined });

  each("claims due invocations for a lease, retries, extends, recovers and forgets them", async (store) => {
    await store.putAsync(invocation("a", 1000));
    await store.putAsync(invocation("b", 5000));
    expect(await store.countAsync()).toBe(2);
    const claimed = await store.claimAsync(1000, 500, 10);
    expect(claimed).toEqual([{ ...invocation("a", 1500), attempts: 1 }]);
    expect(await store.claimAsync(1200, 500, 10)).toEqual([]);
    await store.extendAsync("a", 3000);
    expect(await store.claimAsync(2000, 500, 10)).toEqual([]);
    await store.retryAsync("a", 2500, "boom");
    expect(await store.claimAsync(2600, 500, 10)).toEqual([{ ...invocation("a", 3100), attempts: 2, lastError: "boom" }]);
    expect(await store.recoverAsync(2700)).toBe(1);
    expect((await store.claimAsync(2700, 500, 10)).map((i) => i.id)).toEqual(["a"]);
    await store.deleteAsync("a");
    expect(await store.countAsync()).toBe(1);
  });

  each("gives each due invocation to one claimant, even on two hosts", async (store, opened) => {
    const other = (await opened.second?.()) ?? store;
    for (let i = 0; i < 30; i++) await store.putAsync(invocation(`i${i}`, 1000));
    const claims = await Promise.all(Array.from({ length: 6 }, (_, i) => (i % 2 === 0 ? store : other).claimAsync(1000, 60_000, 8)));
    const ids = claims.flat().map((c) => c.id);
    expect(ids).toHaveLength(30);
    expect(new Set(ids).size).toBe(30);
  });

  it("gives a host that is gone's claims to the live hosts, and leaves the live hosts' claims alone (postgres)", async () => {
    const schema = `test_${randomUUID().replace(/-/g, "")}`;
    const [alive, doomed] = await Promise.all([openPostgresStore(postgres!.url, { schema }), openPostgresStore(postgres!.url, { schema })]);
    try {
      expect(alive.recoverOrphanedAsync).toBeTypeOf("function");
      for (const id of ["mine", "theirs"]) await alive.putAsync(invocation(id, 1000));
      expect((await alive.claimAsync(1000, 60_000, 1)).map((i) => i.id)).toEqual(["mine"]);
      expect((await doomed.claimAsync(1000, 60_000, 1)).map((i) => i.id)).toEqual(["theirs"]);
      // Both hosts live: nothing is anybody's to take.
      expect(await alive.recoverOrphanedAsync!(2000)).toBe(0);
      await doomed.close();
      // The server ends the closed session (and frees its lock) a moment after the client lets it go.
      await expect.poll(() => alive.recoverOrphanedAsync!(2000), { interval: 20, timeout: 5000 }).toBe(1);
      expect((await alive.claimAsync(2000, 60_000, 10)).map((i) => i.id)).toEqual(["theirs"]);
    } finally {
      await Promise.all([alive.close(), doomed.close()]);
    }
  });

  it("has no orphaned claims to look for on the embedded store (one host)", async () => {
    const store = await openSqliteStore(undefined);
    expect(store.recoverOrphanedAsync).toBeUndefined();
    expect(store.followRegistry).toBeUndefined();
    await store.close();
  });

  each("lists failed invocations newest first, per function", async (store) => {
    await store.putAsyncFailure({ id: "1", function: "f", failedAt: 10, record: { n: 1 } });
    await store.putAsyncFailure({ id: "2", function: "g", failedAt: 20, record: { n: 2 } });
    await store.putAsyncFailure({ id: "3", function: "f", failedAt: 30, record: { n: 3, nested: ["x"] } });
    expect((await store.listAsyncFailures(undefined, 10)).map((f) => f.id)).toEqual(["3", "2", "1"]);
    expect(await store.listAsyncFailures("f", 1)).toEqual([{ id: "3", function: "f", failedAt: 30, record: { n: 3, nested: ["x"] } }]);
  });

  each("takes each schedule firing once, even when two hosts race for it", async (store, opened) => {
    const other = (await opened.second?.()) ?? store;
    expect(await store.lastFiring("s")).toBeUndefined();
    const raced = await Promise.all(Array.from({ length: 6 }, (_, i) => (i % 2 === 0 ? store : other).claimFiring("s", 60_000, 60_001)));
    expect(raced.filter(Boolean)).toHaveLength(1);
    expect(await store.claimFiring("s", 120_000, 120_001)).toBe(true);
    expect(await other.lastFiring("s")).toBe(120_000);
  });

  each("says a schedule's firing still runs while its invocation is in the store, to every host", async (store, opened) => {
    const other = (await opened.second?.()) ?? store;
    expect(await store.claimFiring("t", 1000, 1000, "run-1")).toBe(true);
    // Taken, not yet accepted as an invocation (or skipped): nothing runs.
    expect(await other.firingRunning("t")).toBe(false);
    await store.putAsync(invocation("run-1", 1000));
    expect(await other.firingRunning("t")).toBe(true);
    expect(await other.firingRunning("another schedule")).toBe(false);
    await store.claimAsync(1000, 60_000, 1);
    expect(await other.firingRunning("t")).toBe(true);
    await store.deleteAsync("run-1");
    expect(await other.firingRunning("t")).toBe(false);
  });
});

describe("the store's key-value namespaces", () => {
  const limits = { maxEntriesPerNamespace: 3 };
  each("gets, sets with expiry, lists by prefix in pages, deletes, purges and counts entries per namespace", async (store) => {
    const text = (value: Uint8Array | undefined) => (value === undefined ? undefined : new TextDecoder().decode(value));
    const bytes = (s: string) => new TextEncoder().encode(s);
    await store.kv.set("ns", "a/1", bytes("one"), undefined, 1000, limits);
    await store.kv.set("ns", "a/2", bytes("two"), 2000, 1000, limits);
    await store.kv.set("ns", "b", bytes("bee"), undefined, 1000, limits);
    await store.kv.set("other", "a/1", bytes("elsewhere"), undefined, 1000, limits);
    expect(text(await store.kv.get("ns", "a/1", 1000))).toBe("one");
    expect(text(await store.kv.get("ns", "a/2", 1999))).toBe("two");
    expect(await store.kv.list("ns", "a/", undefined, 1, 1000)).toEqual({ keys: ["a/1"], cursor: "a/1" });
    expect(await store.kv.list("ns", "a/", "a/1", 1, 1000)).toEqual({ keys: ["a/2"], cursor: undefined });
    expect(await store.kv.list("ns", "a/", undefined, 10, 3000)).toEqual({ keys: ["a/1"], cursor: undefined });
    expect(await store.kv.list("ns", "%", undefined, 10, 1000)).toEqual({ keys: [], cursor: undefined });
    // The namespace is full: a/2 has expired by 3000 but holds its slot until it is purged or touched.
    await store.kv.set("ns", "a/1", bytes("overwritten"), undefined, 3000, limits);
    await expect(store.kv.set("ns", "c", bytes("x"), undefined, 3000, limits)).rejects.toMatchObject({ code: "WFN_PAYLOAD_TOO_LARGE" });
    expect(await store.kv.purge(3000)).toBe(1);
    await store.kv.set("ns", "c", bytes("sea"), undefined, 3000, limits);
    expect(await store.kv.delete("ns", "b", 3000)).toBe(true);
    expect(await store.kv.delete("ns", "b", 3000)).toBe(false);
    await store.kv.set("ns", "e", bytes("brief"), 4000, 3000, limits);
    expect(await store.kv.get("ns", "e", 4000)).toBeUndefined();
    expect(text(await store.kv.get("ns", "a/1", 4000))).toBe("overwritten");
    expect((await store.kv.list("ns", "", undefined, 10, 3000)).keys).toEqual(["a/1", "c"]);
  });
});
