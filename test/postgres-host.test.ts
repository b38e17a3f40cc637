// A host whose state lives in PostgreSQL (`wfn serve --store postgres://...`):
// what is deployed and queued survives a restart with no data directory of
// its own; bad or unreachable URLs are refused in words; a second host on
// the same database is refused until hosts can share one.
import { cp, mkdtemp, rm, writeFile } from "node:fs/promises";
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

describe("a host on PostgreSQL", () => {
  it("keeps what was deployed across a restart with no data directory of its own, and refuses a second host on the same database", async () => {
    const project = await tempDir("wfn-pg-project-");
    for (const file of ["wfn.json", "tsconfig.json", "package.json"]) await cp(join(ROOT, "examples", "hello", file), join(project, file));
    await cp(join(ROOT, "examples", "hello", "src"), join(project, "src"), { recursive: true });
    await writeFile(
      join(project, "src", "index.ts"),
      `import { defineFunction } from "@wfn/sdk";\nexport default defineFunction({ async fetch() { return Response.json({ from: "postgres" }); } });\n`,
    );
    const first = await serveOn(postgres.url);
    const deployed = await wfn(["deploy", project], { env: { WFN_HOST: first.url, WFN_KEY: KEY } });
    expect(deployed.code, deployed.stderr).toBe(0);
    expect(await (await fetch(`${first.url}/`)).json()).toEqual({ from: "postgres" });

    const second = await wfn(["serve", "--port", "0", "--store", postgres.url, "--admin-key", KEY], { cwd: await tempDir("wfn-pg-second-") });
    expect(second.code).toBe(1);
    expect(second.stderr).toContain("another wfn host is using this database");
    expect(second.stderr).not.toMatch(/\n\s+at /);

    expect(await first.server.stop()).toBe(0);
    const again = await serveOn(postgres.url);
    expect(await (await fetch(`${again.url}/`)).json()).toEqual({ from: "postgres" });
    const listed = await wfn(["versions", "hello"], { env: { WFN_HOST: again.url, WFN_KEY: KEY } });
    expect(listed.stdout).toMatch(/^1\s+/m);
  });

  it("takes its lock on the database back after PostgreSQL restarts, so a second host is still refused", async () => {
    const store = await postgres.database("restarted");
    const first = await serveOn(store);
    await postgres.restart();
    // The host reconnects within a second; until then a second host could start.
    await new Promise((resolve) => setTimeout(resolve, 2500));
    const second = await wfn(["serve", "--port", "0", "--store", store, "--admin-key", KEY], { cwd: await tempDir("wfn-pg-second-") });
    expect(second.code).toBe(1);
    expect(second.stderr).toContain("another wfn host is using this database");
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
