// Deploying to a running host, as a team would: a real `wfn serve` process
// with an admin key and no project, the real `wfn deploy`, traffic running
// through every switch (new version, canary, rollback), bad uploads
// refused, state surviving a restart, logs and metrics matching the traffic.
import { cp, mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { FunctionStatus } from "@wfn/runtime";
import { startWfn, wfn, type CliProcess } from "./helpers/cli.js";
import { eventually } from "./helpers/collector.js";
import { ROOT } from "./helpers/paths.js";

const KEY = "test-admin-key-0123456789";
const temp: string[] = [];
let project: string;
let dataDir: string;
let server: CliProcess;
let url: string;
/** Every request this file sent to the function, by request id. */
const sent = new Set<string>();

async function tempDir(prefix: string): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), prefix));
  temp.push(dir);
  return dir;
}

async function startServer(): Promise<void> {
  const cwd = await tempDir("wfn-target-");
  server = startWfn(["serve", "--port", "0", "--data-dir", dataDir, "--admin-key", KEY, "--executors", "2"], { cwd });
  const [, found] = await server.waitFor(/serving \d+ functions? on (http:\/\/\S+)/, 120_000);
  url = found!;
}

/** Runs a wfn command against the server. */
const run = (args: string[], key: string | null = KEY) => wfn(args, { env: { WFN_HOST: url, ...(key === null ? {} : { WFN_KEY: key }) } });

/** The source of the deployed function, answering with `mark`. */
const source = (mark: string) => `import { defineFunction } from "@wfn/sdk";
export default defineFunction({
  async fetch(request, ctx) {
    return Response.json({ mark: ${JSON.stringify(mark)}, greeting: ctx.env.GREETING ?? null, version: ctx.functionVersion });
  },
});
`;

interface Answer {
  mark: string;
  greeting: string | null;
  version: string;
}

async function call(): Promise<{ status: number; mark: string | undefined; id: string; body: Answer | undefined }> {
  const response = await fetch(`${url}/`);
  const id = response.headers.get("x-wfn-request-id") ?? "";
  sent.add(id);
  const body = response.status === 200 ? ((await response.json()) as Answer) : undefined;
  if (body === undefined) await response.body?.cancel();
  return { status: response.status, mark: body?.mark, id, body };
}

/** Requests from `connections` loops until stopped; returns every answer. */
function load(connections = 4) {
  const answers: Array<{ status: number; mark: string | undefined; at: number }> = [];
  let running = true;
  const loops = Array.from({ length: connections }, async () => {
    while (running) {
      try {
        const answer = await call();
        answers.push({ ...answer, at: Date.now() });
      } catch (error) {
        answers.push({ status: 0, mark: String(error), at: Date.now() });
      }
    }
  });
  return {
    answers,
    async stop() {
      running = false;
      await Promise.all(loops);
      return answers;
    },
  };
}

async function status(): Promise<FunctionStatus> {
  const { stdout } = await run(["ls", "--json"]);
  return (JSON.parse(stdout) as { functions: FunctionStatus[] }).functions.find((fn) => fn.name === "hello")!;
}

beforeAll(async () => {
  project = await tempDir("wfn-deploy-project-");
  await cp(join(ROOT, "examples", "hello", "wfn.json"), join(project, "wfn.json"));
  await cp(join(ROOT, "examples", "hello", "tsconfig.json"), join(project, "tsconfig.json"));
  await cp(join(ROOT, "examples", "hello", "package.json"), join(project, "package.json"));
  await cp(join(ROOT, "examples", "hello", "src"), join(project, "src"), { recursive: true });
  await writeFile(join(project, "src", "index.ts"), source("one"));
  dataDir = await tempDir("wfn-deploy-data-");
  await startServer();
});

afterAll(async () => {
  await server?.stop();
  await Promise.all(temp.map((dir) => rm(dir, { recursive: true, force: true })));
});

// One scenario in steps, as a team lives it: each step starts from the state
// the one before left (version numbers, aliases, the traffic split), so the
// steps keep their order even when the suite runs shuffled.
describe("a deployment target", { shuffle: false }, () => {
  it("starts with nothing deployed and refuses its admin API without the key", async () => {
    await server.waitFor(/admin API \(\/_wfn\/\): needs one of 1 admin key\(s\)/);
    expect((await fetch(`${url}/_wfn/functions`)).status).toBe(401);
    expect((await fetch(`${url}/_wfn/functions`, { headers: { authorization: "Bearer not-the-key-at-all" } })).status).toBe(401);
    expect((await fetch(`${url}/_wfn/health`)).status).toBe(200);
    const denied = await run(["deploy", project], "not-the-key-at-all");
    expect(denied.code).toBe(1);
    expect(denied.stderr).toContain("error: the key is not an admin key of this host [HTTP 401]");
    const none = await run(["ls"], null);
    expect(none.stderr).toContain("(pass --key, or set WFN_KEY) [HTTP 401]");
  });

  it("takes a first deployment from wfn deploy", async () => {
    const deployed = await run(["deploy", project, "--description", "first"]);
    expect(deployed.code, deployed.stderr).toBe(0);
    expect(deployed.stdout).toMatch(/^hello\s+- → 1\s+[0-9a-f]{12}\s+new$/m);
    expect(deployed.stderr).toMatch(/deployed in [\d.]+ s: 1 new version, all active/);
    expect(await call()).toMatchObject({ status: 200, mark: "one" });
    const again = await run(["deploy", project]);
    expect(again.stdout).toMatch(/^hello\s+1\s+[0-9a-f]{12}\s+unchanged$/m);
  });

  it("switches to a new version under load without a failed request", async () => {
    await writeFile(join(project, "src", "index.ts"), source("two"));
    const traffic = load();
    await new Promise((resolve) => setTimeout(resolve, 300));
    const deployed = await run(["deploy", project]);
    const switchedAt = Date.now();
    expect(deployed.code, deployed.stderr).toBe(0);
    expect(deployed.stdout).toMatch(/^hello\s+1 → 2\s+[0-9a-f]{12}\s+updated$/m);
    await new Promise((resolve) => setTimeout(resolve, 300));
    const answers = await traffic.stop();
    expect(answers.filter((a) => a.status !== 200)).toEqual([]);
    expect(answers.some((a) => a.mark === "one")).toBe(true);
    // Requests that started after `wfn deploy` returned all ran the new version.
    expect(answers.filter((a) => a.at > switchedAt + 50).every((a) => a.mark === "two")).toBe(true);
  });

  it("changes configuration without an upload, as a new version", async () => {
    const changed = await run(["config", "set", "hello", "--env", "GREETING=configured", "--memory", "192"]);
    expect(changed.code, changed.stderr).toBe(0);
    expect(changed.stdout.trim()).toBe("hello: version 2 → 3");
    expect((await call()).body).toMatchObject({ mark: "two", greeting: "configured" });
    const versions = await run(["versions", "hello"]);
    expect(versions.stdout).toMatch(/^1\s+\S+\s+[0-9a-f]{12}\s+-\s+first$/m);
    expect(versions.stdout).toMatch(/^3\s+\S+\s+[0-9a-f]{12}\s+\$LATEST\s*$/m);
    expect((await status()).config?.memoryMB).toBe(192);
  });

  it("refuses bad uploads with a reason and leaves the running version untouched", async () => {
    const build = join(project, ".wfn", "build", "hello");
    const manifest = JSON.parse(await readFile(join(build, "manifest.json"), "utf8")) as Record<string, unknown>;
    const component = await readFile(join(build, "component.wasm"));
    const upload = async (parts: Record<string, string | Uint8Array>, key = KEY) => {
      const form = new FormData();
      for (const [name, value] of Object.entries(parts)) form.append(name, new Blob([value as BlobPart]), name);
      const response = await fetch(`${url}/_wfn/deployments`, { method: "POST", body: form, headers: { authorization: `Bearer ${key}` } });
      return { status: response.status, body: (await response.json()) as { errorMessage?: string } };
    };
    const flipped = Uint8Array.from(component);
    flipped[flipped.length >> 1]! ^= 0xff;
    const other = { ...manifest, name: "other", config: { ...(manifest.config as object), routes: ["GET /"] } };
    const cases: Array<[Record<string, string | Uint8Array>, number, RegExp]> = [
      [{ "hello/manifest.json": JSON.stringify(manifest), "hello/component.wasm": flipped }, 400, /does not match the manifest/],
      [{ "hello/manifest.json": JSON.stringify({ ...manifest, world: "other:world@1.0.0" }), "hello/component.wasm": component }, 400, /invalid manifest: world must be one of "wfn:function\/function@0.1.0", "wfn:function\/function-async@0.1.0"/],
      [{ "hello/manifest.json": "{ nope", "hello/component.wasm": component }, 400, /hello\/manifest.json is not JSON/],
      [{ "hello/manifest.json": JSON.stringify(manifest) }, 400, /function hello: the upload has its manifest but no component.wasm/],
      // Atomic: hello would change, but "other" clashes with hello's route, so nothing changes.
      [
        {
          "hello/manifest.json": JSON.stringify({ ...manifest, config: { ...(manifest.config as object), env: { GREETING: "never" } } }),
          "hello/component.wasm": component,
          "other/manifest.json": JSON.stringify(other),
          "other/component.wasm": component,
        },
        400,
        /route "GET \/" of function "(other|hello)" is already served by function "(hello|other)"/,
      ],
    ];
    for (const [parts, code, reason] of cases) {
      const answer = await upload(parts);
      expect(answer.status, JSON.stringify(answer.body)).toBe(code);
      expect(answer.body.errorMessage).toMatch(reason);
    }
    expect((await upload({ "hello/manifest.json": JSON.stringify(manifest), "hello/component.wasm": component }, "wrong-key-0123456789")).status).toBe(401);
    const after = await status();
    expect(after.latestVersion).toBe(3);
    // Refused before anything changed: the function's last update is still the one that worked.
    expect(after.lastUpdateStatus).toBe("Successful");
    const { stdout } = await run(["ls"]);
    expect(stdout).not.toMatch(/^other\s/m);
    expect(await call()).toMatchObject({ status: 200, mark: "two" });
  });

  it("checks an uploaded app.json against the same schema as a build folder's", async () => {
    const form = new FormData();
    form.append("app.json", JSON.stringify({ queues: { jobs: { maxReceiveCount: "three" } } }));
    const response = await fetch(`${url}/_wfn/deployments`, { method: "POST", body: form, headers: { authorization: `Bearer ${KEY}` } });
    expect(response.status).toBe(400);
    expect(((await response.json()) as { errorMessage: string }).errorMessage).toBe("app.json: queues.jobs.maxReceiveCount must be an integer");
  });

  it("splits a canary alias within 5 points of its weight over 2,000 requests", async () => {
    expect((await run(["alias", "set", "hello", "live", "1", "--canary", "3=30"])).stdout.trim()).toBe("hello:live → 1 (+3 at 30%)");
    expect((await run(["traffic", "hello", "live"])).stdout.trim()).toBe("hello: traffic goes to live");
    const marks: string[] = [];
    await Promise.all(
      Array.from({ length: 8 }, async () => {
        for (let i = 0; i < 250; i++) {
          const answer = await call();
          expect(answer.status).toBe(200);
          marks.push(answer.mark!);
        }
      }),
    );
    expect(marks).toHaveLength(2000);
    const canary = marks.filter((mark) => mark === "two").length / marks.length;
    expect(canary).toBeGreaterThanOrEqual(0.25);
    expect(canary).toBeLessThanOrEqual(0.35);
    expect(marks.filter((mark) => mark !== "one" && mark !== "two")).toEqual([]);
  });

  it("rolls back under load without a failed request", async () => {
    expect((await run(["alias", "set", "hello", "live", "3"])).code).toBe(0);
    expect(await call()).toMatchObject({ mark: "two" });
    const traffic = load();
    await new Promise((resolve) => setTimeout(resolve, 300));
    const rolled = await run(["rollback", "hello"]);
    const switchedAt = Date.now();
    expect(rolled.stdout.trim()).toBe("hello: live moved from version 3 to 2");
    await new Promise((resolve) => setTimeout(resolve, 300));
    const answers = await traffic.stop();
    expect(answers.filter((a) => a.status !== 200)).toEqual([]);
    expect(answers.filter((a) => a.at > switchedAt + 50).every((a) => a.mark === "two")).toBe(true);
    // Version 2 runs the same code as 3, without its configuration.
    expect((await call()).body).toEqual({ mark: "two", greeting: "Hello from a WebAssembly component", version: "2" });
  });

  it("runs an unqualified Event invocation on $LATEST, like a RequestResponse one, whatever serves the traffic", async () => {
    // Traffic goes to live (version 2); $LATEST is version 3.
    const response = await fetch(`${url}/2015-03-31/functions/hello/invocations`, { method: "POST", headers: { "x-amz-invocation-type": "Event" }, body: "{}" });
    expect(response.status).toBe(202);
    const requestId = response.headers.get("x-amzn-requestid")!;
    const start = await eventually(async () => {
      const { stdout } = await run(["logs", "hello", "--request-id", requestId, "--json"]);
      return stdout
        .trim()
        .split("\n")
        .filter((line) => line !== "")
        .map((line) => (JSON.parse(line) as { message: string }).message)
        .find((message) => message.startsWith("START "));
    }, 10_000, "the invocation's START line");
    expect(start).toBe(`START RequestId: ${requestId} Version: $LATEST`);
  });

  it("keeps logs of each request and metrics that count every invocation", async () => {
    const before = await run(["logs", "hello", "--json", "--limit", "10000"]);
    expect(before.code).toBe(0);
    const burst = await Promise.all(Array.from({ length: 20 }, () => call()));
    const one = burst[7]!;
    const logs = await run(["logs", "hello", "--request-id", one.id]);
    const lines = logs.stdout.trim().split("\n");
    expect(lines).toHaveLength(3);
    expect(lines[0]).toMatch(new RegExp(`INFO  hello ${one.id} START RequestId: ${one.id} Version: 2$`));
    expect(lines[1]).toContain(`END RequestId: ${one.id}`);
    expect(lines[2]).toMatch(/REPORT RequestId: \S+\tDuration: [\d.]+ ms\tBilled Duration: \d+ ms/);
    const recent = await run(["logs", "hello", "--json", "--since", "1m", "--limit", "10000"]);
    const starts = recent.stdout.trim().split("\n").map((line) => JSON.parse(line) as { message: string; requestId?: string }).filter((r) => r.message.startsWith("START "));
    for (const answer of burst) expect(starts.filter((r) => r.requestId === answer.id)).toHaveLength(1);

    const metrics = await (await fetch(`${url}/_wfn/metrics`, { headers: { authorization: `Bearer ${KEY}` } })).text();
    const counted = [...metrics.matchAll(/^wfn_invocations_total\{function="hello",version="\d+",trigger="http",status="ok"\} (\d+)$/gm)].reduce((sum, m) => sum + Number(m[1]), 0);
    expect(counted).toBe(sent.size);
    expect(metrics).toMatch(/^wfn_invocation_duration_seconds_count\{function="hello",version="2"\} \d+$/m);
    expect(metrics).toMatch(/^wfn_warm_instances\{function="hello",version="\d+"\} \d+$/m);
  });

  it("comes back after a restart with exactly what was deployed", async () => {
    const before = await status();
    expect(await server.stop()).toBe(0);
    await startServer();
    const after = await status();
    expect({ ...after, instances: undefined, lastUpdateStatus: undefined, lastUpdateStatusReason: undefined }).toEqual({
      ...before,
      instances: undefined,
      lastUpdateStatus: undefined,
      lastUpdateStatusReason: undefined,
    });
    expect(after).toMatchObject({ latestVersion: 3, traffic: "live", aliases: [{ name: "live", version: 2 }] });
    expect(await call()).toMatchObject({ status: 200, mark: "two" });
    const removed = await run(["rm", "hello"]);
    expect(removed.stdout.trim()).toBe("removed hello");
    expect((await fetch(`${url}/`)).status).toBe(404);
  });
});
