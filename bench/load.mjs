// HTTP load: every peer in turn is started, checked, loaded at each
// connection count by the load generator (its own process), observed from
// outside (RSS, CPU of its process tree) and stopped. Before each window it
// waits a little for the machine to be quiet (bounded). A peer that cannot
// start is reported as not available, with the reason, and the run goes on.
import { cpus } from "node:os";
import { fileURLToPath } from "node:url";
import { startProcess } from "./lib/process.mjs";
import { sampleTree, waitForQuiet, watchTree } from "./lib/proc-stat.mjs";
import { PEERS } from "./peers/index.mjs";
import { startPeer } from "./peers/start.mjs";

const LOADGEN = fileURLToPath(new URL("./loadgen.mjs", import.meta.url));
/** How long an idle peer's CPU is watched, in ms. */
const IDLE_WINDOW_MS = 3000;

/** One load run against a running peer (`url`, default the peer's own); `rate` paces it (requests/s in all). */
export function loadOnce(server, { connections, warmupS, durationS, url = server.url, rate }) {
  return new Promise((resolve, reject) => {
    const generator = startProcess(process.execPath, [LOADGEN], { ipc: true });
    let watch;
    let loadgenWatch;
    const limit = setTimeout(() => finish(new Error(`the load generator did not finish within ${warmupS + durationS + 30} s`)), (warmupS + durationS + 30) * 1000);
    let settled = false;
    const finish = (error, result) => {
      if (settled) return;
      settled = true;
      clearTimeout(limit);
      const { machineCpuPercent, ...server } = watch?.stop() ?? {};
      const loadgen = loadgenWatch?.stop();
      void generator.stop();
      if (error) reject(error);
      else resolve({ ...result, server, loadgenCpuPercent: loadgen?.cpuPercent, machineCpuPercent });
    };
    generator.child.on("message", (message) => {
      if (message.phase === "measure") {
        watch = watchTree(server.pid);
        loadgenWatch = watchTree(generator.pid, 1000);
      } else if (message.result) finish(undefined, message.result);
      else if (message.error) finish(new Error(`load generator failed: ${message.error}`));
    });
    void generator.exited.then(({ code, signal }) => finish(new Error(`the load generator exited (${signal ?? code}): ${generator.output().slice(-800)}`)));
    generator.child.send({ url, connections, warmupS, durationS, ...(rate === undefined ? {} : { rate }) });
  });
}

/**
 * Runs the HTTP load comparison. `built` carries what prepare.mjs made;
 * `log` prints progress. Returns one entry per peer.
 */
export async function runLoad({ built, connections, warmupS, durationS, quietWaitMs, log }) {
  const peers = [];
  for (const peer of PEERS) {
    const entry = { id: peer.id, label: peer.label, wfn: Boolean(peer.wfn), available: false, runs: [] };
    peers.push(entry);
    let server;
    try {
      server = await startPeer(peer, built);
      entry.available = true;
      entry.idleRssMB = sampleTree(server.pid).rssBytes / 2 ** 20;
      // Idle: started and answered once, then left alone (a host that spins burns CPU here).
      await new Promise((resolve) => setTimeout(resolve, 1000));
      const idle = watchTree(server.pid);
      await new Promise((resolve) => setTimeout(resolve, IDLE_WINDOW_MS));
      entry.idleCpuPercent = idle.stop().cpuPercent;
      log(`  ${peer.id}: idle CPU ${entry.idleCpuPercent.toFixed(1)}%`);
      for (const c of connections) {
        const quiet = await waitForQuiet({ maxWaitMs: quietWaitMs });
        if (!quiet.quiet) log(`  (the machine stayed busy: ${quiet.busyPercent.toFixed(0)}% CPU in use, of ${cpus().length * 100}%; measuring anyway)`);
        log(`  ${peer.id}: ${c} connection(s), ${warmupS} s warm-up + ${durationS} s...`);
        const run = { ...(await loadOnce(server, { connections: c, warmupS, durationS })), quietBefore: quiet };
        entry.runs.push(run);
        log(`    ${run.requestsPerSecond.toFixed(0)} req/s, p50 ${run.latencyP50Ms?.toFixed(3)} ms, p99 ${run.latencyP99Ms?.toFixed(3)} ms, ${run.errors} errors, server CPU ${run.server.cpuPercent.toFixed(0)}%, RSS ${run.server.rssPeakMB.toFixed(0)} MB, load generator CPU ${run.loadgenCpuPercent.toFixed(0)}%, machine CPU ${run.machineCpuPercent.toFixed(0)}%`);
      }
    } catch (error) {
      entry.error = error.message;
      log(`  ${peer.id}: not available: ${error.message.split("\n")[0]}`);
    } finally {
      await server?.stop();
    }
  }
  return peers;
}
