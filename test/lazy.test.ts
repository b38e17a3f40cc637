// A host with many deployed functions: versions that keep no instance warm
// are prepared on their first request, not at start, and what idle versions
// hold is kept within maxPreparedMB (least recently used released first,
// prepared again when asked for).
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { Artifact } from "../runtime/dist/artifact/load.js";
import { readArtifacts } from "../runtime/dist/artifact/load.js";
import { eventually } from "./helpers/collector.js";
import { startHost, type TestHost } from "./helpers/host.js";
import { APP_BUILD } from "./helpers/paths.js";

const COUNT = 24;
let dataDir: string;
let host: TestHost;

/** env-b's component deployed as fn-0 … fn-N, each with its own route and NAME. */
function variants(base: Artifact): Artifact[] {
  return Array.from({ length: COUNT }, (_, i) => ({
    ...base,
    origin: `fn-${i}`,
    manifest: { ...base.manifest, name: `fn-${i}`, config: { ...base.manifest.config, routes: [`GET /fn/${i}`], env: { NAME: String(i) }, minInstances: 0 } },
  }));
}

/** A gauge's value in the host's Prometheus text. */
async function gauge(name: string): Promise<number> {
  const text = await (await host.get("/_wfn/metrics")).text();
  const line = new RegExp(`^${name} (\\S+)$`, "m").exec(text);
  if (line === null) throw new Error(`no ${name} in the metrics`);
  return Number(line[1]);
}

async function askFor(i: number): Promise<void> {
  const response = await host.get(`/fn/${i}`);
  expect(response.status).toBe(200);
  expect(await response.json()).toMatchObject({ env: { NAME: String(i) } });
}

beforeAll(async () => {
  dataDir = await mkdtemp(join(tmpdir(), "wfn-lazy-"));
  const { artifacts } = await readArtifacts(APP_BUILD);
  const deployer = await startHost({ dataDir });
  await deployer.host.deployApp(variants(artifacts.find((a) => a.manifest.name === "env-b")!));
  await deployer.server.close();
  // Idle instances go after 1 s, so versions become releasable within the test; 1 MB holds less than one function.
  host = await startHost({ dataDir, maxPreparedMB: 1, idleTimeoutMs: 1000 });
}, 120_000);

afterAll(() => rm(dataDir, { recursive: true, force: true }));

// Steps of one host's life, in order: each leans on what the one before left prepared.
describe("one host with many deployed functions", { shuffle: false }, () => {
  it("starts with every deployed version deferred, none prepared, and lists them all", async () => {
    expect(await gauge("wfn_prepared_versions")).toBe(0);
    expect(await gauge("wfn_deferred_versions")).toBe(COUNT);
    expect(host.host.functions().filter((fn) => fn.name.startsWith("fn-"))).toHaveLength(COUNT);
  });

  it("prepares a version on its first request, and only that one", async () => {
    await askFor(3);
    expect(await gauge("wfn_prepared_versions")).toBe(1);
    expect(await gauge("wfn_deferred_versions")).toBe(COUNT - 1);
  });

  it("releases the least recently used idle versions past maxPreparedMB, and prepares them again when asked", async () => {
    for (const i of [0, 1, 2]) await askFor(i);
    // Once their instances are reclaimed (idle for 1 s), the next preparation releases what went idle.
    await eventually(() => (host.host.functions().filter((fn) => fn.name.startsWith("fn-")).every((fn) => fn.instances.total === 0) ? true : undefined), 20_000, "idle instances reclaimed");
    await new Promise((resolve) => setTimeout(resolve, 2100));
    await askFor(10);
    expect(await gauge("wfn_prepared_versions")).toBe(1);
    expect(await gauge("wfn_deferred_versions")).toBe(COUNT - 1);
    expect(await gauge("wfn_prepared_idle_bytes")).toBe(0);
    // A released version answers as before.
    await askFor(0);
    expect(await gauge("wfn_prepared_versions")).toBe(2);
  }, 60_000);
});

it("keeps idle versions prepared while they fit the budget", async () => {
  const roomyDir = await mkdtemp(join(tmpdir(), "wfn-lazy-roomy-"));
  afterAll(() => rm(roomyDir, { recursive: true, force: true }));
  const roomy = await startHost({ dataDir: roomyDir, maxPreparedMB: 512 });
  const { artifacts } = await readArtifacts(APP_BUILD);
  await roomy.host.deployApp(variants(artifacts.find((a) => a.manifest.name === "env-b")!).slice(0, 4));
  const text = await (await roomy.get("/_wfn/metrics")).text();
  expect(/^wfn_prepared_versions (\d+)$/m.exec(text)?.[1]).toBe("4");
  expect(Number(/^wfn_prepared_idle_bytes (\S+)$/m.exec(text)?.[1])).toBeGreaterThan(1_000_000);
});
