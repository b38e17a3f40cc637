// The in-memory log store behind `wfn logs`: bounds, queries and --follow.
import { describe, expect, it } from "vitest";
import { LogStore, type StoredLogRecord } from "../../runtime/src/observe/log-store.js";
import type { LogRecord } from "../../runtime/src/observe/log.js";

function record(fields: Partial<LogRecord>): LogRecord {
  return { time: 1_000, level: "info", message: "line", source: "guest", function: "hello", version: "1", ...fields };
}

const messages = (records: StoredLogRecord[]) => records.map((r) => r.message);

describe("LogStore", () => {
  it("numbers records in the order they arrive, across functions", () => {
    const store = new LogStore();
    store.append(record({ message: "a" }));
    store.append(record({ message: "b", function: "other" }));
    store.append(record({ message: "c", function: undefined, source: "host" }));
    const all = store.query({});
    expect(messages(all)).toEqual(["a", "b", "c"]);
    expect(all.map((r) => r.seq)).toEqual([all[0]!.seq, all[0]!.seq + 1, all[0]!.seq + 2]);
    expect(all[1]).toMatchObject({ function: "other", version: "1", level: "info", source: "guest", time: 1_000 });
  });

  it("evicts a function's oldest records beyond the record bound, leaving other functions alone", () => {
    const store = new LogStore({ maxRecordsPerFunction: 3 });
    for (let i = 1; i <= 5; i++) store.append(record({ message: `hello ${i}` }));
    store.append(record({ message: "other 1", function: "other" }));
    expect(messages(store.query({ function: "hello" }))).toEqual(["hello 3", "hello 4", "hello 5"]);
    expect(messages(store.query({ function: "other" }))).toEqual(["other 1"]);
  });

  it("evicts the oldest records beyond the byte bound, counting UTF-8 bytes", () => {
    // A record costs its message's UTF-8 length plus a small fixed overhead (between 34 and 199 bytes for this test to hold).
    const store = new LogStore({ maxBytesPerFunction: 1_000 });
    const euro = "€".repeat(100); // 300 bytes in UTF-8, 100 UTF-16 units
    store.append(record({ message: `1${euro}` }));
    store.append(record({ message: `2${euro}` }));
    expect(messages(store.query({ function: "hello" })).map((m) => m[0])).toEqual(["1", "2"]);
    store.append(record({ message: `3${euro}` }));
    // 3 × (301 + overhead) is over 1 000 bytes: the first goes.
    expect(messages(store.query({ function: "hello" })).map((m) => m[0])).toEqual(["2", "3"]);
  });

  it("keeps the newest record even when it is larger than the byte bound", () => {
    const store = new LogStore({ maxBytesPerFunction: 100 });
    store.append(record({ message: "small" }));
    store.append(record({ message: "x".repeat(500) }));
    expect(store.query({ function: "hello" }).map((r) => r.message.length)).toEqual([500]);
  });

  it("stays within its bounds over many appends", () => {
    const store = new LogStore({ maxRecordsPerFunction: 100 });
    for (let i = 0; i < 50_000; i++) store.append(record({ message: String(i) }));
    const kept = store.query({ function: "hello", limit: 1_000 });
    expect(kept).toHaveLength(100);
    expect(kept[0]!.message).toBe("49900");
    expect(kept[99]!.message).toBe("49999");
  });

  it("keeps host records apart from any function, even one named like a host bucket", () => {
    const store = new LogStore({ maxRecordsPerFunction: 2 });
    store.append(record({ message: "host 1", function: undefined, source: "host" }));
    for (const fn of ["", "host", "undefined", "*"]) store.append(record({ message: `fn ${fn}`, function: fn }));
    store.append(record({ message: "host 2", function: undefined, source: "host" }));
    store.append(record({ message: "host 3", function: undefined, source: "host" }));

    expect(store.functions()).toEqual(["", "*", "host", "undefined"].sort());
    expect(messages(store.query({ function: "host" }))).toEqual(["fn host"]);
    expect(messages(store.query({ function: "" }))).toEqual(["fn "]);
    // The host bucket has its own bound: "host 1" was evicted.
    expect(messages(store.query({}))).toEqual(["fn ", "fn host", "fn undefined", "fn *", "host 2", "host 3"]);
  });

  it("queries by time range, both ends inclusive", () => {
    const store = new LogStore();
    for (const time of [100, 200, 300, 400, 500]) store.append(record({ time, message: `t${time}` }));
    // A START line carries the invocation's start time, so times are not in store order.
    store.append(record({ time: 150, message: "late" }));
    expect(messages(store.query({ since: 200, until: 400 }))).toEqual(["t200", "t300", "t400"]);
    expect(messages(store.query({ function: "hello", since: 150 }))).toEqual(["t200", "t300", "t400", "t500", "late"]);
    expect(messages(store.query({ until: 150 }))).toEqual(["t100", "late"]);
  });

  it("queries by request id, in one function or across all", () => {
    const store = new LogStore();
    store.append(record({ requestId: "r1", message: "hello r1 a" }));
    store.append(record({ requestId: "r2", message: "hello r2" }));
    store.append(record({ requestId: "r1", message: "other r1", function: "other" }));
    store.append(record({ requestId: "r1", message: "host r1", function: undefined, source: "host" }));
    store.append(record({ requestId: "r1", message: "hello r1 b" }));
    expect(messages(store.query({ requestId: "r1" }))).toEqual(["hello r1 a", "other r1", "host r1", "hello r1 b"]);
    expect(messages(store.query({ function: "hello", requestId: "r1" }))).toEqual(["hello r1 a", "hello r1 b"]);
    expect(store.query({ requestId: "r3" })).toEqual([]);
  });

  it("resumes after a sequence number", () => {
    const store = new LogStore();
    store.append(record({ message: "a" }));
    store.append(record({ message: "b", function: "other" }));
    const [, seen] = store.query({});
    store.append(record({ message: "c" }));
    store.append(record({ message: "d", function: "other" }));
    expect(messages(store.query({ afterSeq: seen!.seq }))).toEqual(["c", "d"]);
    expect(messages(store.query({ function: "other", afterSeq: seen!.seq }))).toEqual(["d"]);
    expect(store.query({ afterSeq: seen!.seq + 2 })).toEqual([]);
  });

  it("returns the newest `limit` matches in chronological order, 1000 by default", () => {
    const store = new LogStore();
    for (let i = 0; i < 1_200; i++) store.append(record({ message: String(i), function: i % 2 === 0 ? "even" : "odd" }));
    expect(messages(store.query({ limit: 3 }))).toEqual(["1197", "1198", "1199"]);
    expect(messages(store.query({ function: "even", limit: 2 }))).toEqual(["1196", "1198"]);
    const all = store.query({});
    expect(all).toHaveLength(1_000);
    expect(all[0]!.message).toBe("200");
    expect(all[999]!.message).toBe("1199");
    expect(store.query({ limit: 0 })).toEqual([]);
  });

  it("tells subscribers about matching records until they unsubscribe", () => {
    const store = new LogStore();
    const hello: string[] = [];
    const r1: string[] = [];
    const all: string[] = [];
    const stopHello = store.subscribe({ function: "hello" }, (r) => hello.push(r.message));
    store.subscribe({ requestId: "r1" }, (r) => r1.push(r.message));
    store.subscribe({}, (r) => all.push(r.message));

    store.append(record({ message: "a", requestId: "r1" }));
    store.append(record({ message: "b", function: "other", requestId: "r1" }));
    store.append(record({ message: "c", function: undefined, source: "host" }));
    stopHello();
    store.append(record({ message: "d" }));

    expect(hello).toEqual(["a"]);
    expect(r1).toEqual(["a", "b"]);
    expect(all).toEqual(["a", "b", "c", "d"]);
  });

  it("hands subscribers the stored record, with its sequence number", () => {
    const store = new LogStore();
    const heard: StoredLogRecord[] = [];
    store.subscribe({}, (r) => heard.push(r));
    store.append(record({ message: "a" }));
    expect(heard).toEqual(store.query({}));
  });

  it("goes on storing and notifying when a subscriber throws", () => {
    const store = new LogStore();
    const heard: string[] = [];
    store.subscribe({}, () => {
      throw new Error("connection closed");
    });
    store.subscribe({}, (r) => heard.push(r.message));
    expect(() => store.append(record({ message: "a" }))).not.toThrow();
    store.append(record({ message: "b" }));
    expect(heard).toEqual(["a", "b"]);
    expect(messages(store.query({}))).toEqual(["a", "b"]);
  });

  it("lists functions with records and forgets a dropped one", () => {
    const store = new LogStore();
    store.append(record({ function: "zeta" }));
    store.append(record({ function: "alpha" }));
    store.append(record({ function: undefined, source: "host", message: "host" }));
    expect(store.functions()).toEqual(["alpha", "zeta"]);
    store.drop("zeta");
    expect(store.functions()).toEqual(["alpha"]);
    expect(store.query({ function: "zeta" })).toEqual([]);
    expect(messages(store.query({}))).toEqual(["line", "host"]);
  });

  it("refuses bounds that are not positive integers", () => {
    expect(() => new LogStore({ maxBytesPerFunction: 0 })).toThrow(RangeError);
    expect(() => new LogStore({ maxRecordsPerFunction: 1.5 })).toThrow(/maxRecordsPerFunction/);
  });
});
