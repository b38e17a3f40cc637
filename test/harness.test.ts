// @wfn/cli/testing on the examples, as a function author's vitest file
// would use it: real builds (cached by content), a real in-process host.
import { createHash } from "node:crypto";
import { cp, mkdir, mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { loadFunctions, type TestFunctions } from "../cli/dist/testing.js";
import { ROOT } from "./helpers/paths.js";

const opened: TestFunctions[] = [];
const temp: string[] = [];

/** A copy of an example (the suite's other files serve the example's own build meanwhile). */
async function copyOf(example: string): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), "wfn-harness-"));
  temp.push(dir);
  await cp(join(ROOT, "examples", example), dir, { recursive: true, filter: (path) => !path.includes(".wfn") && !path.includes("node_modules") });
  return dir;
}

async function load(example: string): Promise<TestFunctions> {
  const fns = await loadFunctions(await copyOf(example));
  opened.push(fns);
  return fns;
}

afterAll(async () => {
  await Promise.all(opened.map((fns) => fns.close()));
  await Promise.all(temp.map((dir) => rm(dir, { recursive: true, force: true })));
});

describe("loadFunctions", () => {
  it("delivers a queue batch to a Lambda-style consumer and reads back its partial failures and log lines", async () => {
    const fns = await load("queue-worker");
    const result = await fns.queue("mailer", [JSON.stringify({ to: "ada@example.com", template: "welcome" }), JSON.stringify({ to: "bob@example.invalid", template: "welcome" })], { queue: "emails" });
    expect(result.status).toBe("ok");
    const answer = result.status === "ok" && result.outcome.tag === "payload" ? JSON.parse(new TextDecoder().decode(result.outcome.val)) : undefined;
    expect(answer.batchItemFailures).toHaveLength(1);
    const logs = fns.logs("mailer");
    expect(logs.some((line) => line.startsWith('sent "welcome" from welcome@example.com to ada@example.com'))).toBe(true);
    expect(logs.some((line) => line.includes("cannot deliver to bob@example.invalid"))).toBe(true);
    expect(fns.logs("signup")).toEqual([]);
  });

  it("fires a schedule handler at a given time", async () => {
    const fns = await load("cron-report");
    const result = await fns.scheduled("nightly", { time: new Date("2026-12-04T01:30:00Z"), schedule: "nightly" });
    expect(result.status).toBe("ok");
    expect(fns.logs("nightly").join("\n")).toContain("nightly clean-up for the night of 2026-12-04T01:30:00Z");
  });

  it("answers an HTTP request through fetch() with a path, and a direct invocation", async () => {
    const fns = await load("hello");
    const response = await fns.fetch("/hello/there?x=1", { headers: { "user-agent": "harness" } });
    expect(response.status).toBe(200);
    expect(await response.json()).toMatchObject({ path: "/hello/there", query: { x: "1" }, userAgent: "harness" });
    expect((await fns.invoke("hello", { ping: 1 })).status).toBe("ok");
  });

  it("notifies a storage trigger of object changes, its prefix filter applied, the store answered by outbound handlers", async () => {
    const dir = await copyOf("storage-indexer");
    const written = new Map<string, string>();
    const fns = await loadFunctions(dir, {
      outbound: {
        "http://127.0.0.1:9000": async (request) => {
          const path = decodeURIComponent(new URL(request.url).pathname);
          if (request.method === "GET") return new Response("hello, store", { headers: { "content-type": "text/plain" } });
          written.set(`${request.method} ${path}`, await request.text());
          return new Response(null, { status: 200 });
        },
      },
    });
    opened.push(fns);
    const result = await fns.storage("indexer", [{ key: "uploads/my photo+1.txt", bucket: "photos", etag: "abc", size: 12 }]);
    expect(result?.status).toBe("ok");
    const entry = JSON.parse(written.get("PUT /photos/index/uploads/my photo+1.txt.json") ?? "{}") as Record<string, unknown>;
    expect(entry).toMatchObject({ bucket: "photos", key: "uploads/my photo+1.txt", size: 12, contentType: "text/plain", etag: "abc" });
    expect(entry.sha256).toBe(createHash("sha256").update("hello, store").digest("hex"));
    // Outside the trigger's prefix: not delivered, the function not invoked.
    expect(await fns.storage("indexer", [{ key: "elsewhere/x.txt" }])).toBeUndefined();
    expect((await fns.storage("indexer", [{ key: "uploads/gone.txt", bucket: "photos", eventName: "ObjectRemoved:Delete" }]))?.status).toBe("ok");
    expect([...written.keys()].join(" | ")).toContain("DELETE /photos/index/uploads/gone.txt.json");
    await expect(fns.storage("nope", [{ key: "uploads/a" }])).rejects.toThrow(/"nope" has no storage trigger/);
  });

  it("answers a function's outbound fetch with the test's handlers, the allow-list still deciding what it may reach", async () => {
    const dir = await mkdtemp(join(tmpdir(), "wfn-harness-"));
    temp.push(dir);
    await mkdir(join(dir, "src"));
    await writeFile(
      join(dir, "src", "index.ts"),
      [
        'import { defineFunction } from "@wfn/sdk";',
        "export default defineFunction({",
        "  async fetch(request) {",
        "    const target = new URL(request.url).searchParams.get(\"target\")!;",
        '    const answer = await fetch(target, { method: "POST", headers: { "x-from": "guest" }, body: "ping" }).then((r) => r.text(), (e: Error) => `refused: ${e.message}`);',
        "    return new Response(answer);",
        "  },",
        "});",
        "",
      ].join("\n"),
    );
    await writeFile(join(dir, "wfn.json"), JSON.stringify({ functions: { caller: { entry: "src/index.ts", routes: ["GET /"], engine: "quickjs", allowedOutboundHosts: ["https://api.example.com"] } } }));
    const seen: string[] = [];
    const fns = await loadFunctions(dir, {
      outbound: {
        "https://api.example.com": async (request) => {
          seen.push(`${request.method} ${request.url} ${request.headers.get("x-from")} ${await request.text()}`);
          return new Response("pong from the test");
        },
        // A handler does not open the allow-list: this origin stays refused.
        "https://other.example.com": () => new Response("must not be reached"),
      },
    });
    opened.push(fns);
    const allowed = await fns.fetch(`/?target=${encodeURIComponent("https://api.example.com/users/1?full=1")}`);
    expect(await allowed.text()).toBe("pong from the test");
    expect(seen).toEqual(["POST https://api.example.com/users/1?full=1 guest ping"]);
    const refused = await fns.fetch(`/?target=${encodeURIComponent("https://other.example.com/")}`);
    expect(await refused.text()).toMatch(/^refused: .*other\.example\.com.*allowedOutboundHosts/);
    expect(seen).toHaveLength(1);
  });
});
