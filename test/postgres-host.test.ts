// A host whose state lives in PostgreSQL (`wfn serve --store postgres://...`):
// what is deployed and queued survives a restart with no data directory of
// its own; hosts sharing a database serve what any of them deployed; bad or
// unreachable URLs are refused in words.
import { cp, mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startWfn, wfn, type CliProcess } from "./helpers/cli.js";
import { startPostgres, type TestPostgres } from "./helpers/postgres.js";
import { ROOT } from "./helpers/paths.js";

const KEY = "test-admin-key-postgres-0123";
let postgres: TestPostgres;
const temp: string[] = [];
const servers: CliProcess[] = [];

async function tempDir(prefix: string): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), prefix));
  temp.push(dir);
  return dir;
}

/** `wfn serve --store <url>` with no project, in a fresh directory (so nothing is kept beside it). */
async function serveOn(store: string): Promise<{ server: CliProcess; url: string }> {
  const cwd = await tempDir("wfn-pg-host-");
  const server = startWfn(["serve", "--port", "0", "--store", store, "--admin-key", KEY, "--executors", "1"], { cwd });
  servers.push(server);
  const [, url] = await server.waitFor(/serving \d+ functions? on (http:\/\/\S+)/, 120_000);
  // The banner says where the state lives, the password left out.
  const escaped = store.replace(/[.*+?^${}()|[\]\\]/g, "\\$&");
  await server.waitFor(new RegExp(`state: ${escaped} \\(PostgreSQL\\)`));
  return { server, url: url! };
}

beforeAll(async () => {
  postgres = await startPostgres();
}, 60_000);

afterAll(async () => {
  await Promise.all(servers.map((server) => server.stop()));
  await postgres?.stop();
  await Promise.all(temp.map((dir) => rm(dir, { recursive: true, force: true })));
});

/** A project like examples/hello whose function answers `{ from: <from> }`. */
async function project(from: string): Promise<string> {
  const dir = await tempDir("wfn-pg-project-");
  for (const file of ["wfn.json", "tsconfig.json", "package.json"]) await cp(join(ROOT, "examples", "hello", file), join(dir, file));
  await cp(join(ROOT, "examples", "hello", "src"), join(dir, "src"), { recursive: true });
  // QuickJS: each deploy builds new sources, and QuickJS componentizes them in about a second (StarlingMonkey: 8 s).
  const config = JSON.parse(await readFile(join(dir, "wfn.json"), "utf8")) as { functions: Record<string, Record<string, unknown>> };
  for (const fn of Object.values(config.functions)) fn.engine = "quickjs";
  await writeFile(join(dir, "wfn.json"), JSON.stringify(config));
  await writeFile(join(dir, "src", "index.ts"), `import { defineFunction } from "@wfn/sdk";\nexport default defineFunction({ async fetch() { return Response.json({ from: ${JSON.stringify(from)} }); } });\n`);
  return dir;
}

/** What GET / answers on `url` (undefined while it is not a function's JSON). */
async function served(url: string): Promise<unknown> {
  const response = await fetch(`${url}/`);
  return response.status === 200 ? response.json() : undefined;
}

describe("hosts on PostgreSQL", () => {
  it("share what is deployed: a deploy through one is served by the other, and both keep it across a restart with no data directory of their own", async () => {
    const store = await postgres.database("shared");
    const [first, second] = await Promise.all([serveOn(store), serveOn(store)]);
    const deployed = await wfn(["deploy", await project("first")], { env: { WFN_HOST: first.url, WFN_KEY: KEY } });
    expect(deployed.code, deployed.stderr).toBe(0);
    expect(await served(first.url)).toEqual({ from: "first" });
    await expect.poll(() => served(second.url), { interval: 50, timeout: 10_000 }).toEqual({ from: "first" });
    await second.server.waitFor(/following another host: hello \(version 1\)/);

    // The other way, and a rollback through the first.
    const again = await wfn(["deploy", await project("second")], { env: { WFN_HOST: second.url, WFN_KEY: KEY } });
    expect(again.code, again.stderr).toBe(0);
    await expect.poll(() => served(first.url), { interval: 50, timeout: 10_000 }).toEqual({ from: "second" });
    const rolled = await wfn(["rollback", "hello"], { env: { WFN_HOST: first.url, WFN_KEY: KEY } });
    expect(rolled.code, rolled.stderr).toBe(0);
    await expect.poll(() => served(second.url), { interval: 50, timeout: 10_000 }).toEqual({ from: "first" });
    const listed = await wfn(["versions", "hello"], { env: { WFN_HOST: second.url, WFN_KEY: KEY } });
    expect(listed.stdout).toMatch(/^1\s+/m);
    expect(listed.stdout).toMatch(/^2\s+/m);

    expect(await first.server.stop()).toBe(0);
    expect(await second.server.stop()).toBe(0);
    const restarted = await serveOn(store);
    expect(await served(restarted.url)).toEqual({ from: "first" });
  });

  it("deploy one version at a time across hosts: two deploys at once through two hosts make versions 1 and 2", async () => {
    const store = await postgres.database("racing");
    const [first, second] = await Promise.all([serveOn(store), serveOn(store)]);
    const [a, b] = await Promise.all([
      wfn(["deploy", await project("a")], { env: { WFN_HOST: first.url, WFN_KEY: KEY } }),
      wfn(["deploy", await project("b")], { env: { WFN_HOST: second.url, WFN_KEY: KEY } }),
    ]);
    expect([a.code, b.code], a.stderr + b.stderr).toEqual([0, 0]);
    // Each host answers from what it holds; the later deploy reaches the other within a second or so.
    for (const host of [first, second]) {
      await expect
        .poll(async () => (await wfn(["versions", "hello"], { env: { WFN_HOST: host.url, WFN_KEY: KEY } })).stdout, { interval: 100, timeout: 10_000 })
        .toMatch(/^1\s+[^]*^2\s+/m);
    }
    // Both end on the same $LATEST.
    const latest = await served(first.url);
    await expect.poll(() => served(second.url), { interval: 50, timeout: 10_000 }).toEqual(latest);
  });

  it("keep following each other after PostgreSQL restarts", async () => {
    const store = await postgres.database("restarted");
    const [first, second] = await Promise.all([serveOn(store), serveOn(store)]);
    await postgres.restart();
    // The hosts reconnect within a second or two; a deploy may fail meanwhile, in words.
    await expect
      .poll(async () => (await wfn(["deploy", await project("after restart")], { env: { WFN_HOST: first.url, WFN_KEY: KEY } })).code, { interval: 500, timeout: 20_000 })
      .toBe(0);
    await expect.poll(() => served(second.url), { interval: 50, timeout: 15_000 }).toEqual({ from: "after restart" });
    expect((await fetch(`${first.url}/_wfn/health`)).status).toBe(200);
  });

  it("says what is wrong with a store URL it cannot use, without a stack trace", async () => {
    const bad = await wfn(["serve", "--port", "0", "--store", "mysql://root@127.0.0.1/db"]);
    expect(bad.code).toBe(2);
    expect(bad.stderr).toContain("--store (or WFN_STORE) must be a PostgreSQL URL");
    const closed = new URL(postgres.url);
    closed.port = "9";
    closed.password = "secret-password";
    closed.username = "postgres";
    const unreachable = await wfn(["serve", "--port", "0", "--store", closed.toString()], { env: { WFN_ADMIN_KEYS: KEY } });
    expect(unreachable.code).toBe(1);
    expect(unreachable.stderr).toMatch(/127\.0\.0\.1:9/);
    expect(unreachable.stderr).not.toContain("secret-password");
    expect(unreachable.stderr).not.toMatch(/\n\s+at /);
  });
});
