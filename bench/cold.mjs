// Cold paths: process start → first successful response for every peer
// (median of a few runs); for wfn also deploy → first response with a warm
// and with a cold transpile cache, and a burst of concurrent first requests
// to a function with no warm instances (cold-host.mjs, fresh processes);
// and per engine, `wfn build` of one hello into an empty output folder and
// the size of the component it makes.
import { mkdtemp, readFile, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { runScript } from "./lib/child.mjs";
import { HELLO_APP, HELLO_QJS_APP, ROOT, WFN_CLI } from "./lib/paths.mjs";
import { startProcess } from "./lib/process.mjs";
import { summarize } from "./lib/stats.mjs";
import { PEERS } from "./peers/index.mjs";
import { startPeer } from "./peers/start.mjs";

const HOST = fileURLToPath(new URL("./cold-host.mjs", import.meta.url));

async function processStarts(built, runs, log) {
  const peers = [];
  for (const peer of PEERS) {
    const entry = { id: peer.id, label: peer.label, wfn: Boolean(peer.wfn), available: false, startupMs: [] };
    peers.push(entry);
    try {
      for (let i = 0; i < runs; i++) {
        const server = await startPeer(peer, built);
        entry.startupMs.push(server.startupMs);
        await server.stop();
      }
      entry.available = true;
      entry.p50Ms = summarize(entry.startupMs).p50;
      log(`  ${peer.id}: process start → first response ${entry.p50Ms.toFixed(0)} ms (median of ${runs})`);
    } catch (error) {
      entry.error = error.message;
      log(`  ${peer.id}: not available: ${error.message.split("\n")[0]}`);
    }
  }
  return peers;
}

async function deploys(cache, runs, log) {
  const samples = [];
  for (let i = 0; i < runs; i++) samples.push(await runScript(HOST, ["deploy", cache]));
  const total = summarize(samples.map((s) => s.totalMs));
  const result = {
    cache,
    runs: samples,
    totalP50Ms: total.p50,
    deployP50Ms: summarize(samples.map((s) => s.deployMs)).p50,
    firstResponseP50Ms: summarize(samples.map((s) => s.firstResponseMs)).p50,
  };
  log(`  wfn deploy → first response, ${cache} transpile cache: ${result.totalP50Ms.toFixed(0)} ms (deploy ${result.deployP50Ms.toFixed(0)} + first request ${result.firstResponseP50Ms.toFixed(0)}, median of ${runs})`);
  return result;
}

/** [engine, project, function]: one hello per engine. */
const BUILDS = [
  ["StarlingMonkey", HELLO_APP, "hello"],
  ["QuickJS", HELLO_QJS_APP, "hello-qjs"],
  ["C (wasi:http)", join(ROOT, "examples", "c-hello"), "c-hello"],
];

/** One `wfn build --only <name>` into an empty folder; with `cacheDir`, a build cache of its own. */
async function timedBuild(project, name, cacheDir) {
  const out = await mkdtemp(join(tmpdir(), "wfn-bench-build-"));
  try {
    const started = performance.now();
    const build = startProcess(process.execPath, [WFN_CLI, "build", project, "--only", name, "--out", out], cacheDir === undefined ? {} : { env: { WFN_CACHE_DIR: cacheDir } });
    const { code } = await build.exited;
    if (code !== 0) throw new Error(`wfn build ${project} exited ${code}: ${build.output().slice(-300)}`);
    const ms = performance.now() - started;
    return { ms, componentBytes: (await readFile(join(out, name, "component.wasm"))).byteLength };
  } finally {
    await rm(out, { recursive: true, force: true });
  }
}

/**
 * Per engine, `runs` builds of its hello into an empty folder: with an empty
 * build cache (what a changed source costs), and with the bench's cache (the
 * same source again: the component comes from the cache).
 */
async function builds(runs, log) {
  const rows = [];
  for (const [engine, project, name] of BUILDS) {
    const samples = [];
    const cachedSamples = [];
    let componentBytes;
    try {
      for (let i = 0; i < runs; i++) {
        const cacheDir = await mkdtemp(join(tmpdir(), "wfn-bench-build-cache-"));
        try {
          const fresh = await timedBuild(project, name, cacheDir);
          samples.push(fresh.ms);
          componentBytes = fresh.componentBytes;
        } finally {
          await rm(cacheDir, { recursive: true, force: true });
        }
        cachedSamples.push((await timedBuild(project, name, undefined)).ms);
      }
      const row = { engine, buildP50Ms: summarize(samples).p50, samplesMs: samples, cachedP50Ms: summarize(cachedSamples).p50, componentBytes };
      log(`  wfn build, hello on ${engine}: ${(row.buildP50Ms / 1000).toFixed(2)} s with an empty build cache, ${(row.cachedP50Ms / 1000).toFixed(2)} s from the cache (medians of ${runs}); component ${(componentBytes / 2 ** 20).toFixed(2)} MB`);
      rows.push(row);
    } catch (error) {
      log(`  wfn build, hello on ${engine}: failed: ${error.message.split("\n")[0]}`);
      rows.push({ engine, error: error.message });
    }
  }
  return rows;
}

export async function runCold({ built, runs, burstSize, log }) {
  const build = await builds(Math.max(1, Math.min(3, runs - 2)), log);
  const processStart = await processStarts(built, runs, log);
  const deployWarm = await deploys("warm", runs, log);
  const deployCold = await deploys("cold", Math.max(1, runs - 2), log);
  const burst = await runScript(HOST, ["burst", String(burstSize)]);
  log(`  wfn burst of ${burstSize} first requests, no warm instance: p50 ${burst.p50Ms.toFixed(0)} ms, p99 ${burst.p99Ms.toFixed(0)} ms (${burst.instancesAfter} instance(s) created)`);
  return { build, processStart, deployWarm, deployCold, burst };
}
