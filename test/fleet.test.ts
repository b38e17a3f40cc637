// Three `wfn serve` processes on one PostgreSQL database, behind a
// round-robin proxy on loopback, as a load balancer would spread clients
// over a fleet (docs/scaling.md). What one host is told, all three do: a
// deploy or a rollback made through any host is served by every host, queue
// messages and asynchronous invocations are processed by whichever host
// claims them — none lost when a host is killed with SIGKILL — and a
// schedule fires once per due time across the fleet.
import { cp, mkdtemp, rm, writeFile } from "node:fs/promises";
import { createServer, request, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startWfn, wfn, type CliProcess } from "./helpers/cli.js";
import { startCollector, type Collector } from "./helpers/collector.js";
import { ROOT, TRIGGERS } from "./helpers/paths.js";
import { startPostgres, type TestPostgres } from "./helpers/postgres.js";

const KEY = "fleet-test-admin-key-0123456789";
const admin = { authorization: `Bearer ${KEY}` };
const SCHEDULES = join(ROOT, "test", "fixtures", "schedules");
/** What one host of the fleet can have in flight of the `work` queue: its consumer's batches (4 × 5 messages). */
const IN_FLIGHT_PER_HOST = 4 * 5;

interface FleetHost {
  port: number;
  url: string;
  process: CliProcess;
}

let postgres: TestPostgres;
let store: string;
let collector: Collector;
let proxy: Server;
let proxyUrl: string;
let workDir: string;
const hosts: FleetHost[] = [];
/** Every host process started, the killed ones included (their output holds what they ran). */
const started: CliProcess[] = [];

async function freePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const { port } = server.address() as AddressInfo;
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}

/** Starts (or starts again, on the same port) the fleet's host number `index`. */
async function startHost(index: number, port: number): Promise<FleetHost> {
  const process = startWfn(["serve", TRIGGERS, SCHEDULES, "--port", String(port), "--store", store, "--executors", "1", "--admin-key", KEY], { cwd: workDir });
  started.push(process);
  const [, url] = await process.waitFor(/serving \d+ functions on (http:\/\/\S+)/, 180_000);
  const host = { port, url: url!, process };
  hosts[index] = host;
  return host;
}

/** Kills a host with SIGKILL (no shutdown of any kind). */
async function kill(host: FleetHost): Promise<void> {
  host.process.child.kill("SIGKILL");
  await host.process.stop();
}

/**
 * A round-robin proxy over the hosts' ports: each request goes to the next
 * host, and to the one after it when a host refuses the connection (a load
 * balancer's health check, in one line).
 */
async function startProxy(ports: number[]): Promise<void> {
  let next = 0;
  proxy = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on("data", (chunk: Buffer) => chunks.push(chunk));
    req.on("end", () => {
      const body = Buffer.concat(chunks);
      const attempt = (tries: number) => {
        const port = ports[next++ % ports.length]!;
        const upstream = request({ host: "127.0.0.1", port, method: req.method, path: req.url, headers: { ...req.headers, host: `127.0.0.1:${port}` } }, (answer) => {
          res.writeHead(answer.statusCode ?? 502, answer.headers);
          answer.pipe(res);
        });
        upstream.on("error", () => (tries < ports.length ? attempt(tries + 1) : res.writeHead(502).end()));
        upstream.end(body);
      };
      attempt(1);
    });
  });
  await new Promise<void>((resolve) => proxy.listen(0, "127.0.0.1", resolve));
  proxyUrl = `http://127.0.0.1:${(proxy.address() as AddressInfo).port}`;
}

/** A project like examples/hello whose function answers `{ from: <from> }`. */
async function helloProject(from: string): Promise<string> {
  const dir = await mkdtemp(join(workDir, "project-"));
  for (const file of ["wfn.json", "tsconfig.json", "package.json"]) await cp(join(ROOT, "examples", "hello", file), join(dir, file));
  await cp(join(ROOT, "examples", "hello", "src"), join(dir, "src"), { recursive: true });
  await writeFile(join(dir, "src", "index.ts"), `import { defineFunction } from "@wfn/sdk";\nexport default defineFunction({ async fetch() { return Response.json({ from: ${JSON.stringify(from)} }); } });\n`);
  return dir;
}

async function served(url: string): Promise<unknown> {
  try {
    const response = await fetch(`${url}/`);
    return response.status === 200 ? await response.json() : response.status;
  } catch {
    return undefined;
  }
}

beforeAll(async () => {
  workDir = await mkdtemp(join(tmpdir(), "wfn-fleet-"));
  postgres = await startPostgres();
  store = await postgres.database("fleet");
  // Each report takes a little while, so that a host is killed with work in flight.
  collector = await startCollector({ delayMs: 20 });
  const ports = await Promise.all([freePort(), freePort(), freePort()]);
  await Promise.all(ports.map((port, index) => startHost(index, port)));
  await startProxy(ports);
}, 240_000);

afterAll(async () => {
  await Promise.all(started.map((process) => process.stop()));
  await new Promise<void>((resolve) => (proxy === undefined ? resolve() : proxy.close(() => resolve())));
  await postgres?.stop();
  await rm(workDir, { recursive: true, force: true });
});

describe("three hosts on one PostgreSQL", { shuffle: false }, () => {
  it("serve a deploy made through one host on all three", async () => {
    const deployed = await wfn(["deploy", await helloProject("v1")], { env: { WFN_HOST: hosts[0]!.url, WFN_KEY: KEY } });
    expect(deployed.code, deployed.stderr).toBe(0);
    for (const host of hosts) await expect.poll(() => served(host.url), { interval: 50, timeout: 15_000 }).toEqual({ from: "v1" });
  });

  it("roll back through the third host on all three, with no failed request under load", async () => {
    const deployed = await wfn(["deploy", await helloProject("v2")], { env: { WFN_HOST: hosts[1]!.url, WFN_KEY: KEY } });
    expect(deployed.code, deployed.stderr).toBe(0);
    for (const host of hosts) await expect.poll(() => served(host.url), { interval: 50, timeout: 15_000 }).toEqual({ from: "v2" });
    let loading = true;
    const answers: unknown[] = [];
    const load = Promise.all(
      Array.from({ length: 4 }, async () => {
        while (loading) answers.push(await served(proxyUrl));
      }),
    );
    try {
      await new Promise((resolve) => setTimeout(resolve, 300));
      const rolled = await wfn(["rollback", "hello"], { env: { WFN_HOST: hosts[2]!.url, WFN_KEY: KEY } });
      expect(rolled.code, rolled.stderr).toBe(0);
      for (const host of hosts) await expect.poll(() => served(host.url), { interval: 50, timeout: 15_000 }).toEqual({ from: "v1" });
      await new Promise((resolve) => setTimeout(resolve, 300));
    } finally {
      loading = false;
      await load;
    }
    expect(answers.length).toBeGreaterThan(20);
    expect(answers.filter((answer) => !isDeepFrom(answer))).toEqual([]);
    expect(answers.at(-1)).toEqual({ from: "v1" });
  });

  it("process 300 queue messages sent through any host, none lost, while a host is killed with SIGKILL and started again", async () => {
    const expected = new Set<string>();
    for (let batch = 0; batch < 6; batch++) {
      const messages = Array.from({ length: 50 }, (_, i) => {
        const id = `m-${batch * 50 + i}`;
        expected.add(id);
        return { body: JSON.stringify({ id, collector: collector.url }) };
      });
      const response = await fetch(`${proxyUrl}/_wfn/queues/work/messages`, { method: "POST", headers: admin, body: JSON.stringify({ messages }) });
      expect(response.status).toBe(201);
    }
    await collector.until((reports) => new Set(reports.map((r) => r.id)).size >= 60, 60_000);
    const victim = hosts[1]!;
    await kill(victim);
    await startHost(1, victim.port);
    await collector.until((reports) => {
      const seen = new Set(reports.map((r) => r.id as string));
      return [...expected].every((id) => seen.has(id));
    }, 120_000);
    const reports = collector.reports.filter((r) => expected.has(r.id as string));
    const duplicates = reports.length - new Set(reports.map((r) => r.id)).size;
    // At least once: only what the killed host had in flight may run twice.
    expect(duplicates).toBeLessThanOrEqual(IN_FLIGHT_PER_HOST);
    console.log(`fleet: ${expected.size} messages processed by three hosts, one killed midway: ${duplicates} duplicates, none lost`);
  });

  it("run an asynchronous invocation accepted by a host that is then killed, on another host", async () => {
    const ids = Array.from({ length: 20 }, (_, i) => `a-${i}`);
    const victim = hosts[2]!;
    for (const id of ids) {
      const response = await fetch(`${victim.url}/2015-03-31/functions/job/invocations`, {
        method: "POST",
        headers: { "x-amz-invocation-type": "Event" },
        body: JSON.stringify({ id, collector: collector.url }),
      });
      expect(response.status).toBe(202);
    }
    await kill(victim);
    // Not started again until they all ran: the two live hosts take the dead one's claims.
    await collector.until((reports) => ids.every((id) => reports.some((r) => r.id === id)), 60_000);
    await startHost(2, victim.port);
  });

  it("fire a 1-second schedule once per second across the fleet, never twice, and a slow one never over itself", async () => {
    const firings = (fn: string) =>
      started.flatMap((process) => [...process.output().matchAll(new RegExp(`tick (\\{.*"fn":"${fn}"\\})`, "g"))].map((match) => (JSON.parse(match[1]!) as { time: string }).time));
    const before = firings("ticker").length;
    // A loaded machine may fire late, never twice.
    await expect.poll(() => firings("ticker").length - before, { interval: 100, timeout: 30_000 }).toBeGreaterThanOrEqual(3);
    const all = firings("ticker");
    // Across every host that ran, each due time once.
    expect(all.length, all.join(" ")).toBe(new Set(all).size);
    // slow-ticker runs 2.5 s every second without allowOverlap: whichever host takes a firing skips it while
    // the previous one runs on any host, so consecutive firings are at least 3 s apart across the fleet.
    await expect.poll(() => firings("slow-ticker").length, { interval: 100, timeout: 30_000 }).toBeGreaterThanOrEqual(3);
    const slow = [...new Set(firings("slow-ticker"))].map((time) => Date.parse(time)).sort((a, b) => a - b);
    for (let i = 1; i < slow.length; i++) expect(slow[i]! - slow[i - 1]!, slow.map((t) => new Date(t).toISOString()).join(" ")).toBeGreaterThanOrEqual(3000);
  });
});

/** An answer of either version of hello. */
function isDeepFrom(answer: unknown): boolean {
  const from = (answer as { from?: unknown } | undefined)?.from;
  return from === "v1" || from === "v2";
}
