// Cold paths: process start → first successful response for every peer
// (median of a few runs); for wfn also deploy → first response with a warm
// and with a cold transpile cache, and a burst of concurrent first requests
// to a function with no warm instances (cold-host.mjs, fresh processes).
import { fileURLToPath } from "node:url";
import { runScript } from "./lib/child.mjs";
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

export async function runCold({ built, runs, burstSize, log }) {
  const processStart = await processStarts(built, runs, log);
  const deployWarm = await deploys("warm", runs, log);
  const deployCold = await deploys("cold", Math.max(1, runs - 2), log);
  const burst = await runScript(HOST, ["burst", String(burstSize)]);
  log(`  wfn burst of ${burstSize} first requests, no warm instance: p50 ${burst.p50Ms.toFixed(0)} ms, p99 ${burst.p99Ms.toFixed(0)} ms (${burst.instancesAfter} instance(s) created)`);
  return { processStart, deployWarm, deployCold, burst };
}
