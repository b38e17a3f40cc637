// The key-value capability on a real host: functions built by `wfn build`
// reach their declared namespaces through ctx.kv (web style), the SDK's
// import and context.kv (Lambda style); undeclared namespaces, oversized
// keys and values, and full namespaces are refused with clear messages; the
// data is shared by the functions that declare a namespace and survives a
// restart of the host.
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startHost, type TestHost } from "./helpers/host.js";
import { KV_BUILD } from "./helpers/paths.js";

let app: TestHost;
let dataDir: string;

beforeAll(async () => {
  dataDir = await mkdtemp(join(tmpdir(), "wfn-kv-"));
  app = await startHost({ dir: KV_BUILD, dataDir, kv: { maxKeyBytes: 64, maxValueBytes: 4096, maxListKeys: 50, maxEntriesPerNamespace: 40 } });
});

afterAll(async () => {
  await app.server.close();
  await rm(dataDir, { recursive: true, force: true });
});

const put = (key: string, value: string | Uint8Array, query = "") =>
  app.get(`/notes/${encodeURIComponent(key)}${query}`, {
    method: "PUT",
    body: value as BodyInit,
    headers: { "content-type": typeof value === "string" ? "text/plain" : "application/octet-stream" },
  });
const read = async (key: string) => (await app.get(`/notes/${encodeURIComponent(key)}`)).json() as Promise<{ found: boolean; value?: string; error?: string }>;
const invoke = async (name: string, payload: unknown) => (await app.get(`/2015-03-31/functions/${name}/invocations`, { method: "POST", body: JSON.stringify(payload) })).json();

describe("ctx.kv", () => {
  it("sets, gets and deletes text and bytes", async () => {
    expect((await put("greeting", "hello, kv")).status).toBe(204);
    expect(await read("greeting")).toEqual({ found: true, value: "hello, kv" });
    const bytes = new Uint8Array([0, 255, 1, 254, 10, 13]);
    expect((await put("raw", bytes)).status).toBe(204);
    const back = await app.get("/notes/raw?bytes");
    expect(new Uint8Array(await back.arrayBuffer())).toEqual(bytes);
    expect(await (await app.get("/notes/greeting", { method: "DELETE" })).json()).toEqual({ deleted: true });
    expect(await (await app.get("/notes/greeting", { method: "DELETE" })).json()).toEqual({ deleted: false });
    expect(await read("greeting")).toEqual({ found: false });
  });

  it("lists keys in order by prefix, a page at a time", async () => {
    for (const key of ["list/c", "list/a", "list/b", "list/d", "listing", "other"]) expect((await put(key, key)).status).toBe(204);
    const first = (await (await app.get("/notes?prefix=list/&limit=3")).json()) as { keys: string[]; cursor: string | null };
    expect(first).toEqual({ keys: ["list/a", "list/b", "list/c"], cursor: "list/c" });
    const second = (await (await app.get(`/notes?prefix=list/&limit=3&cursor=${encodeURIComponent(first.cursor!)}`)).json()) as { keys: string[]; cursor: string | null };
    expect(second).toEqual({ keys: ["list/d"], cursor: null });
  });

  it("accepts a time to live and refuses one that is not whole seconds", async () => {
    expect((await put("session", "s", "?ttl=3600")).status).toBe(204);
    expect(await read("session")).toEqual({ found: true, value: "s" });
    const refused = await put("session", "s", "?ttl=0.5");
    expect(refused.status).toBe(400);
    expect(((await refused.json()) as { error: string }).error).toMatch(/ttlSeconds must be a whole number/);
  });

  it("refuses a namespace the function does not declare, and a function that declares none", async () => {
    const other = (await (await app.get("/other-namespace")).json()) as { error: string };
    expect(other.error).toBe('kv("secrets").get failed: namespace "secrets" is not declared by this function (its kv in wfn.json: notes)');
    const none = await app.get("/nokv");
    expect(none.status).toBe(403);
    expect(((await none.json()) as { error: string }).error).toMatch(/namespace "notes" is not declared by this function \(its kv in wfn.json: none\)/);
    expect(await read("stolen")).toEqual({ found: false });
  });

  it("refuses keys, values and list pages over the host's limits", async () => {
    const longKey = await put("k".repeat(65), "v");
    expect(((await longKey.json()) as { error: string }).error).toMatch(/the key is 65 bytes; the limit is 64/);
    const bigValue = await put("big", "v".repeat(4097));
    expect(((await bigValue.json()) as { error: string }).error).toMatch(/the value is 4097 bytes; the limit is 4096/);
    const page = (await (await app.get("/notes?limit=51")).json()) as { error: string };
    expect(page.error).toMatch(/limit must be from 1 to 50/);
    expect(await read("big")).toEqual({ found: false });
  });

  it("refuses a new key once a namespace holds maxEntriesPerNamespace, and takes it again after a delete", async () => {
    const listed = (await (await app.get("/notes?limit=50")).json()) as { keys: string[] };
    for (let i = listed.keys.length; i < 40; i++) expect((await put(`fill/${i}`, "x")).status).toBe(204);
    const full = await put("one-too-many", "x");
    expect(full.status).toBe(400);
    expect(((await full.json()) as { error: string }).error).toMatch(/namespace "notes" holds 40 entries, its limit/);
    expect((await put("fill/39", "overwrite is fine")).status).toBe(204);
    await app.get("/notes/fill/39", { method: "DELETE" });
    expect((await put("one-too-many", "x")).status).toBe(204);
    // Leave room for the tests after this one.
    for (let i = listed.keys.length; i < 39; i++) await app.get(`/notes/fill/${i}`, { method: "DELETE" });
    await app.get("/notes/one-too-many", { method: "DELETE" });
  });

  it("is shared with the other functions that declare the namespace, Lambda-style ones included", async () => {
    expect((await put("doc/1", JSON.stringify({ title: "shared" }))).status).toBe(204);
    const first = (await invoke("notes-reader", { key: "doc/1" })) as { value: unknown; audited: number };
    expect(first.value).toEqual({ title: "shared" });
    const second = (await invoke("notes-reader", { key: "doc/1" })) as { audited: number };
    expect(second.audited).toBe(first.audited + 1);
  });

  it("keeps what was stored across a restart of the host", async () => {
    expect((await put("durable", "still here")).status).toBe(204);
    await app.server.close();
    app = await startHost({ dir: KV_BUILD, dataDir, kv: { maxKeyBytes: 64, maxValueBytes: 4096, maxListKeys: 50, maxEntriesPerNamespace: 40 } });
    expect(await read("durable")).toEqual({ found: true, value: "still here" });
  });
});
