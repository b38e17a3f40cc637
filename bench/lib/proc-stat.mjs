// Reads a process tree's resident memory and CPU time from /proc, so a
// server can be observed from outside while it is under load (a server that
// runs helper processes or worker threads is counted whole).
import { execFileSync } from "node:child_process";
import { readdirSync, readFileSync } from "node:fs";

const ticksPerSecond = getconf("CLK_TCK", 100);
const pageBytes = getconf("PAGESIZE", 4096);

function getconf(name, fallback) {
  try {
    return Number(execFileSync("getconf", [name], { encoding: "utf8" }).trim()) || fallback;
  } catch {
    return fallback;
  }
}

/** Fields of /proc/<pid>/stat after the command name (which may contain spaces). */
function statFields(pid) {
  try {
    const text = readFileSync(`/proc/${pid}/stat`, "utf8");
    return text.slice(text.lastIndexOf(")") + 2).split(" ");
  } catch {
    return undefined;
  }
}

/** `root` and every process descending from it. */
export function processTree(root) {
  const children = new Map();
  for (const entry of readdirSync("/proc")) {
    if (!/^\d+$/.test(entry)) continue;
    const fields = statFields(entry);
    if (fields === undefined) continue;
    const parent = Number(fields[1]); // field 4: ppid
    if (!children.has(parent)) children.set(parent, []);
    children.get(parent).push(Number(entry));
  }
  const tree = [root];
  for (let at = 0; at < tree.length; at++) tree.push(...(children.get(tree[at]) ?? []));
  return tree;
}

/** RSS (bytes) and CPU time (user + system, seconds) of a process tree, now. */
export function sampleTree(root) {
  let rssBytes = 0;
  let cpuSeconds = 0;
  for (const pid of processTree(root)) {
    const fields = statFields(pid);
    if (fields === undefined) continue;
    // After the name: [0] state, [11] utime, [12] stime, [21] rss (pages) — fields 14, 15, 24 of stat(5).
    cpuSeconds += (Number(fields[11]) + Number(fields[12])) / ticksPerSecond;
    rssBytes += Number(fields[21]) * pageBytes;
  }
  return { rssBytes, cpuSeconds, at: performance.now() };
}

/** CPU time the whole machine has spent busy (all cores, seconds), from /proc/stat. */
export function machineBusySeconds() {
  const [, user, nice, system, , , irq, softirq, steal] = readFileSync("/proc/stat", "utf8").split("\n")[0].trim().split(/\s+/).map(Number);
  return (user + nice + system + irq + softirq + steal) / ticksPerSecond;
}

/**
 * Samples a process tree every `intervalMs` until stop() is called. stop()
 * returns CPU use over the window (percent of one core), mean and peak RSS,
 * and how busy the whole machine was (percent of one core, all processes).
 */
export function watchTree(root, intervalMs = 250) {
  const machineFirst = machineBusySeconds();
  const first = sampleTree(root);
  const rss = [first.rssBytes];
  const timer = setInterval(() => rss.push(sampleTree(root).rssBytes), intervalMs);
  return {
    stop() {
      clearInterval(timer);
      const last = sampleTree(root);
      rss.push(last.rssBytes);
      const seconds = (last.at - first.at) / 1000;
      return {
        cpuPercent: seconds > 0 ? ((last.cpuSeconds - first.cpuSeconds) / seconds) * 100 : 0,
        machineCpuPercent: seconds > 0 ? ((machineBusySeconds() - machineFirst) / seconds) * 100 : 0,
        rssMeanMB: rss.reduce((a, b) => a + b, 0) / rss.length / 2 ** 20,
        rssPeakMB: Math.max(...rss) / 2 ** 20,
      };
    },
  };
}

/**
 * Waits (at most `maxWaitMs`) until the machine has been nearly idle for
 * half a second: another process's burst should not land in a measured
 * window. Returns how long it waited and whether the machine went quiet.
 */
export async function waitForQuiet({ maxWaitMs, busyPercent = 30 }) {
  const started = performance.now();
  for (;;) {
    const before = machineBusySeconds();
    await new Promise((resolve) => setTimeout(resolve, 500));
    const busy = ((machineBusySeconds() - before) / 0.5) * 100;
    const waitedMs = performance.now() - started;
    if (busy < busyPercent) return { waitedMs, quiet: true };
    if (waitedMs >= maxWaitMs) return { waitedMs, quiet: false, busyPercent: busy };
  }
}
