// The key-value room of the embedded store on its own, with time given as
// a number: expiry, the periodic purge, prefixes that contain LIKE's
// wildcards, pages, and the per-namespace entry count. And the host side
// of the capability: the caller's own configuration decides the namespace.
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { hostCalls } from "../../runtime/src/capabilities/host-calls.js";
import { resolveFunctionConfig } from "../../runtime/src/config/function-config.js";
import { hostSettings } from "../../runtime/src/settings.js";
import { openSqliteStore } from "../../runtime/src/store/sqlite.js";
import type { Store } from "../../runtime/src/store/store.js";
import type { Queues } from "../../runtime/src/triggers/queues.js";
import { silentSink } from "../../runtime/src/observe/log.js";

let store: Store;
const limits = { maxEntriesPerNamespace: 3 };
const text = (value: string) => new TextEncoder().encode(value);

beforeEach(async () => {
  store = await openSqliteStore(undefined);
});

afterEach(() => store.close());

describe("the kv store", () => {
  it("hides an entry from its expiry on, and the purge deletes it", async () => {
    await store.kv.set("ns", "k", text("v"), 2_000, 1_000, limits);
    expect(await store.kv.get("ns", "k", 1_999)).toEqual(text("v"));
    expect((await store.kv.list("ns", "", undefined, 10, 1_999)).keys).toEqual(["k"]);
    expect((await store.kv.list("ns", "", undefined, 10, 2_000)).keys).toEqual([]);
    expect(await store.kv.purge(2_000)).toBe(1);
    expect(await store.kv.get("ns", "k", 2_000)).toBeUndefined();
    expect(await store.kv.delete("ns", "k", 2_000)).toBe(false);
  });

  it("matches prefixes literally, % and _ included, and pages after a cursor", async () => {
    const big = { maxEntriesPerNamespace: 100 };
    for (const key of ["a%b", "a%c", "axb", "a_1", "a_2", "b"]) await store.kv.set("ns", key, text(key), undefined, 0, big);
    expect((await store.kv.list("ns", "a%", undefined, 10, 0)).keys).toEqual(["a%b", "a%c"]);
    expect((await store.kv.list("ns", "a_", undefined, 10, 0)).keys).toEqual(["a_1", "a_2"]);
    const page = await store.kv.list("ns", "a", undefined, 2, 0);
    expect(page).toEqual({ keys: ["a%b", "a%c"], cursor: "a%c" });
    expect(await store.kv.list("ns", "a", page.cursor, 10, 0)).toEqual({ keys: ["a_1", "a_2", "axb"], cursor: undefined });
    expect((await store.kv.list("other", "", undefined, 10, 0)).keys).toEqual([]);
  });

  it("counts live entries per namespace: overwrites and expired slots are free, new keys past the limit are refused", async () => {
    for (const key of ["a", "b", "c"]) await store.kv.set("ns", key, text(key), undefined, 0, limits);
    await store.kv.set("ns", "a", text("again"), undefined, 0, limits);
    await expect(store.kv.set("ns", "d", text("d"), undefined, 0, limits)).rejects.toMatchObject({ code: "WFN_PAYLOAD_TOO_LARGE" });
    await store.kv.set("other", "d", text("d"), undefined, 0, limits);
    await store.kv.delete("ns", "b", 0);
    await store.kv.set("ns", "d", text("d"), 10, 0, limits);
    await store.kv.purge(10);
    await store.kv.set("ns", "e", text("e"), undefined, 20, limits);
    expect((await store.kv.list("ns", "", undefined, 10, 20)).keys).toEqual(["a", "c", "e"]);
  });
});

describe("the kv capability's host side", () => {
  it("decides by the calling function's configuration, whatever the executor sent", async () => {
    const calls = hostCalls({ store, settings: hostSettings({}), log: silentSink, queues: {} as Queues });
    const reader = { functionName: "reader", config: resolveFunctionConfig({ entry: "x.js", kv: ["public"] }) };
    await calls.handle({ capability: "kv", op: "set", args: ["public", "k", text("v"), undefined] }, reader);
    expect(await calls.handle({ capability: "kv", op: "get", args: ["public", "k"] }, reader)).toEqual(text("v"));
    await expect(calls.handle({ capability: "kv", op: "get", args: ["private", "k"] }, reader)).rejects.toBe(
      'namespace "private" is not declared by function reader (its kv in wfn.json: public)',
    );
    await expect(calls.handle({ capability: "kv", op: "drop-all", args: [] }, reader)).rejects.toBe('the host has no kv operation "drop-all"');
    calls.close();
  });
});
