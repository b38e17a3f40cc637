// The I/O-bound section: a function that waits on a 50 ms upstream, driven
// at 50 and 200 connections, beside the same handler on workerd — the limit
// for such a load is connections ÷ upstream latency. Then, on wfn alone:
// fault isolation (a runaway function called every second while the
// I/O-bound one is under load), fairness (a healthy function's latency while
// 10 clients hammer a spinning function, and while 10 wait on an upstream
// that never answers), and the memory of 200 invocations suspended at once.
import { existsSync } from "node:fs";
import { connect } from "node:net";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { freePort, get } from "./lib/http.mjs";
import { IO_APP, WFN_CLI } from "./lib/paths.mjs";
import { startProcess } from "./lib/process.mjs";
import { sampleTree, waitForQuiet } from "./lib/proc-stat.mjs";
import { loadOnce } from "./load.mjs";
import { startPeer } from "./peers/start.mjs";
import { packageDir } from "./lib/packages.mjs";

const here = (path) => fileURLToPath(new URL(path, import.meta.url));
const UPSTREAM = here("./peers/servers/upstream.mjs");
export const UPSTREAM_DELAY_MS = 50;

function workerdBinary() {
  const platform = { linux: "linux", darwin: "darwin", win32: "windows" }[process.platform];
  const arch = { x64: "64", arm64: "arm64" }[process.arch];
  const binary = join(packageDir(`@cloudflare/workerd-${platform}-${arch}`), "bin", "workerd");
  if (!existsSync(binary)) throw new Error(`no workerd binary at ${binary}`);
  return binary;
}

const IO_PEERS = [
  { id: "wfn-io", label: "wfn serve (bench/apps/io)", wfn: true, readyPath: "/healthy", command: (port) => [process.execPath, [WFN_CLI, "serve", IO_APP, "--port", String(port)]] },
  {
    id: "wfn-io-accept-main",
    label: "wfn serve (bench/apps/io, WFN_ACCEPT_IN=main)",
    wfn: true,
    readyPath: "/healthy",
    env: { WFN_ACCEPT_IN: "main" },
    command: (port) => [process.execPath, [WFN_CLI, "serve", IO_APP, "--port", String(port)]],
  },
  {
    id: "workerd-io",
    label: "Cloudflare workerd (same handler)",
    readyPath: "/healthy",
    command: (port) => [workerdBinary(), ["serve", here("./peers/workerd/io.capnp"), "--socket-addr", `http=127.0.0.1:${port}`]],
  },
];

/** Resolves once something accepts TCP connections on `port`. */
function accepts(port) {
  return new Promise((resolve, reject) => {
    const socket = connect(port, "127.0.0.1");
    socket.once("connect", () => {
      socket.destroy();
      resolve();
    });
    socket.once("error", reject);
  });
}

/** An upstream child process on a free port: `delay` ms per answer, or "dead". */
async function startUpstream(delay) {
  const port = await freePort();
  const proc = startProcess(process.execPath, [UPSTREAM, String(port), String(delay)]);
  const url = `http://127.0.0.1:${port}/`;
  for (let i = 0; i < 200; i++) {
    try {
      await accepts(port);
      const pending = () => get(`${url}__pending`, 5000).then((r) => Number(r.body));
      return { url, pending, stop: () => proc.stop() };
    } catch {
      await new Promise((resolve) => setTimeout(resolve, 25));
    }
  }
  await proc.stop();
  throw new Error(`the upstream (${delay}) did not start`);
}

const ioPath = (upstream) => `io?upstream=${encodeURIComponent(upstream)}`;

export async function runIo({ connections, warmupS, durationS, quietWaitMs, log }) {
  const upstream = await startUpstream(UPSTREAM_DELAY_MS);
  const result = { upstreamDelayMs: UPSTREAM_DELAY_MS, peers: [], faultIsolation: undefined, fairness: undefined, suspended: undefined };
  try {
    for (const peer of IO_PEERS) {
      const entry = { id: peer.id, label: peer.label, wfn: Boolean(peer.wfn), available: false, runs: [] };
      result.peers.push(entry);
      let server;
      try {
        server = await startPeer(peer, {});
        entry.available = true;
        const url = server.url + ioPath(upstream.url);
        for (const c of connections) {
          await waitForQuiet({ maxWaitMs: quietWaitMs });
          log(`  ${peer.id}: ${c} connection(s) on a ${UPSTREAM_DELAY_MS} ms upstream...`);
          const run = await loadOnce(server, { connections: c, warmupS, durationS, url });
          const limit = c / (UPSTREAM_DELAY_MS / 1000);
          entry.runs.push({ ...run, limitRps: limit, ofLimit: run.requestsPerSecond / limit });
          log(`    ${run.requestsPerSecond.toFixed(0)} req/s (${((run.requestsPerSecond / limit) * 100).toFixed(0)}% of the ${limit} limit), p50 ${run.latencyP50Ms?.toFixed(1)} ms, p99 ${run.latencyP99Ms?.toFixed(1)} ms, ${run.errors} errors, server CPU ${run.server.cpuPercent.toFixed(0)}%`);
        }
        if (peer.id === "wfn-io") {
          result.faultIsolation = await faultIsolation(server, upstream, { warmupS, durationS, log });
          result.fairness = await fairness(server, { warmupS, durationS, log });
          // On a host of its own: this one holds the instances the load left behind.
          await server.stop();
          server = await startPeer(peer, {});
          result.suspended = await suspendedDensity(server, log);
        }
      } catch (error) {
        entry.error = error.message;
        log(`  ${peer.id}: not available: ${error.message.split("\n")[0]}`);
      } finally {
        await server?.stop();
      }
    }
  } finally {
    await upstream.stop();
  }
  return result;
}

/** The I/O-bound function under 50 connections while a runaway is called every second. */
async function faultIsolation(server, upstream, { warmupS, durationS, log }) {
  log("  wfn-io: fault isolation (a runaway called every second during the load)...");
  const runaway = [];
  let calling = true;
  const caller = (async () => {
    while (calling) {
      const started = performance.now();
      runaway.push(await get(server.url + "spin", 5000).then((r) => r.status, () => 0));
      await new Promise((resolve) => setTimeout(resolve, Math.max(0, 1000 - (performance.now() - started))));
    }
  })();
  try {
    const run = await loadOnce(server, { connections: 50, warmupS, durationS, url: server.url + ioPath(upstream.url) });
    log(`    I/O-bound: ${run.requestsPerSecond.toFixed(0)} req/s, p99 ${run.latencyP99Ms?.toFixed(1)} ms, ${run.errors} failed; runaway answered ${[...new Set(runaway)].join("/")}`);
    return { ...run, runawayCalls: runaway.length, runawayStatuses: runaway };
  } finally {
    calling = false;
    await caller;
  }
}

/** A healthy function's p99 alone, while 10 clients hammer a spinning function, and while 10 wait on a dead upstream. */
async function fairness(server, { warmupS, durationS, log }) {
  const probe = () => loadOnce(server, { connections: 1, warmupS: Math.min(1, warmupS), durationS, url: server.url + "healthy", rate: 20 });
  log("  wfn-io: fairness: healthy function alone...");
  const baseline = await probe();
  const beside = async (what, url) => {
    log(`  wfn-io: fairness: healthy function while 10 clients ${what}...`);
    const noise = loadOnce(server, { connections: 10, warmupS: 0, durationS: durationS + 2, url }).catch((error) => ({ error: error.message }));
    await new Promise((resolve) => setTimeout(resolve, 1000));
    const healthy = await probe();
    await noise;
    log(`    healthy p99 ${healthy.latencyP99Ms?.toFixed(1)} ms (alone ${baseline.latencyP99Ms?.toFixed(1)} ms), ${healthy.errors} failed`);
    return healthy;
  };
  const dead = await startUpstream("dead");
  try {
    return {
      baseline,
      spinning: await beside("hammer a spinning function", server.url + "spin"),
      deadUpstream: await beside("wait on an upstream that never answers", server.url + ioPath(dead.url)),
    };
  } finally {
    await dead.stop();
  }
}

/** Host memory with 200 invocations suspended at once (waiting on a 20 s upstream), on a fresh host. */
async function suspendedDensity(server, log) {
  const slow = await startUpstream(20_000);
  try {
    await new Promise((resolve) => setTimeout(resolve, 1000));
    const idle = sampleTree(server.pid).rssBytes;
    const count = 200;
    // `hold` is the I/O-bound function with a 60 s timeout.
    const requests = Array.from({ length: count }, () => get(`${server.url}hold?upstream=${encodeURIComponent(slow.url)}`, 30_000).catch(() => undefined));
    // Instances start as the requests wait (a few at a time); the upstream holds every request
    // 20 s, so once the upstream has them all, they are all suspended at once.
    const deadline = performance.now() + 18_000;
    let waiting = 0;
    while (performance.now() < deadline && (waiting = await slow.pending()) < count) await new Promise((resolve) => setTimeout(resolve, 250));
    await new Promise((resolve) => setTimeout(resolve, 500));
    const suspended = sampleTree(server.pid).rssBytes;
    const perInvocationMB = (suspended - idle) / waiting / 2 ** 20;
    log(`  wfn-io: ${waiting} of ${count} invocations suspended at once: host RSS ${(idle / 2 ** 20).toFixed(0)} → ${(suspended / 2 ** 20).toFixed(0)} MB (${perInvocationMB.toFixed(2)} MB each)`);
    void Promise.all(requests);
    return { count, suspendedCount: waiting, idleRssMB: idle / 2 ** 20, suspendedRssMB: suspended / 2 ** 20, perInvocationMB };
  } finally {
    await slow.stop();
  }
}
