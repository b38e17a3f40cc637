// The project's performance targets, checked against one run's results.
// A target whose inputs are missing (a peer not available, a section that
// failed) is reported as "n/a", never as a pass. Missing a target never
// fails the run.

const runAt = (load, id, connections) => {
  const peer = load?.find((p) => p.id === id);
  return peer?.available ? peer.runs.find((r) => r.connections === connections) : undefined;
};

const atLeast = (value, limit) => value >= limit;
const atMost = (value, limit) => value <= limit;

function target(name, value, limit, unit, holds) {
  const bound = holds === atLeast ? "≥" : "≤";
  if (value === undefined || limit === undefined || Number.isNaN(value) || Number.isNaN(limit)) {
    return { name, status: "n/a", value, limit, unit, bound };
  }
  return { name, status: holds(value, limit) ? "PASS" : "FAIL", value, limit, unit, bound };
}

/** Server CPU time per request at `connections`, in µs. */
const cpuPerRequestUs = (run) => (run === undefined || run.requestsPerSecond === 0 ? undefined : (run.server.cpuPercent / 100 / run.requestsPerSecond) * 1e6);

/** The I/O-bound targets: each wfn row against its limit and the upstream latency. */
function ioTargets(io) {
  const wfn = io?.peers.find((p) => p.id === "wfn-io");
  const targets = [];
  for (const connections of [50, 200]) {
    const run = wfn?.available ? wfn.runs.find((r) => r.connections === connections) : undefined;
    targets.push(target(`I/O-bound (${io?.upstreamDelayMs ?? 50} ms upstream), ${connections} connections: share of the limit`, run?.ofLimit, 0.8, "×", atLeast));
    targets.push(target(`I/O-bound, ${connections} connections: p99`, run?.latencyP99Ms, io === undefined ? undefined : 3 * io.upstreamDelayMs, "ms", atMost));
  }
  const fault = io?.faultIsolation;
  targets.push(target("fault isolation: I/O-bound requests failed while a runaway is called every second", fault?.errors, 0, "", atMost));
  const fair = io?.fairness;
  for (const [key, what] of [
    ["spinning", "10 clients of a spinning function"],
    ["deadUpstream", "10 clients waiting on a dead upstream"],
  ]) {
    const run = fair?.[key];
    const base = fair?.baseline.latencyP99Ms;
    targets.push(target(`fairness: healthy p99 beside ${what} / alone`, ratio(run?.latencyP99Ms, base), 2, "×", atMost));
    targets.push(target(`fairness: healthy requests failed beside ${what}`, run?.errors, 0, "", atMost));
  }
  return targets;
}

export function checkTargets({ micro, interrupt, load, io, cold, density, many }) {
  const rps = (id) => runAt(load, id, 50)?.requestsPerSecond;
  const wfn50 = rps("wfn");
  const jco50 = rps("jco-serve");
  const workerd50 = rps("workerd");
  const wfnP50 = runAt(load, "wfn", 1)?.latencyP50Ms;
  const honoP50 = runAt(load, "hono-node", 1)?.latencyP50Ms;
  const guestMs = micro?.warmCallInThread ? micro.warmCallInThread.p50Us / 1000 : undefined;
  return [
    target("warm throughput, 50 connections: wfn / jco serve", ratio(wfn50, jco50), 10, "×", atLeast),
    target("warm throughput, 50 connections: wfn / workerd", ratio(wfn50, workerd50), 0.6, "×", atLeast),
    target(
      "warm p50 latency, 1 connection: wfn ≤ 2 × Hono-on-Node p50 + in-thread guest call",
      wfnP50,
      honoP50 === undefined || guestMs === undefined ? undefined : 2 * honoP50 + guestMs,
      "ms",
      atMost,
    ),
    target("CPU per request, hello at 50 connections: wfn / workerd", ratio(cpuPerRequestUs(runAt(load, "wfn", 50)), cpuPerRequestUs(runAt(load, "workerd", 50))), 2, "×", atMost),
    target("executors accepting / main thread accepting: hello throughput at 50 connections", ratio(wfn50, rps("wfn-accept-main")), 1, "×", atLeast),
    target("executors accepting / main thread accepting: hello p50 at 1 connection", ratio(wfnP50, runAt(load, "wfn-accept-main", 1)?.latencyP50Ms), 1, "×", atMost),
    target("warm p50 latency, 1 connection: wfn / workerd", ratio(wfnP50, runAt(load, "workerd", 1)?.latencyP50Ms), 2, "×", atMost),
    target("idle host CPU (wfn serve, nothing to do)", load?.find((p) => p.id === "wfn")?.idleCpuPercent, 1, "%", atMost),
    target(
      "CPU per request at 1 connection: wfn / (Hono-on-Node + in-thread guest call)",
      ratio(cpuPerRequestUs(runAt(load, "wfn", 1)), guestMs === undefined ? undefined : (cpuPerRequestUs(runAt(load, "hono-node", 1)) ?? NaN) + guestMs * 1000),
      1.5,
      "×",
      atMost,
    ),
    ...ioTargets(io),
    target("interrupt checks: trivial warm call, with / without", interrupt?.trivial.ratio, 1.25, "×", atMost),
    target("interrupt checks: CPU-bound call, with / without", interrupt?.busy.ratio, 1.25, "×", atMost),
    target("cold start (new instance) p50", micro?.coldStart ? micro.coldStart.p50Us / 1000 : undefined, 3, "ms", atMost),
    target("deploy → first response, warm transpile cache (p50)", cold?.deployWarm?.totalP50Ms, 100, "ms", atMost),
    target("density: warm instances per GB of host RSS", densityOf(density, "StarlingMonkey")?.instancesPerGB, 100, "/GB", atLeast),
    target("density on QuickJS: warm instances per GB of host RSS", densityOf(density, "QuickJS")?.instancesPerGB, 1000, "/GB", atLeast),
    target("QuickJS hello component size", quickjsBuild(cold)?.componentBytes === undefined ? undefined : quickjsBuild(cold).componentBytes / 2 ** 20, 2, "MB", atMost),
    target("wfn build, hello on QuickJS", quickjsBuild(cold)?.buildP50Ms, 1000, "ms", atMost),
    target("cold start (new instance) p50, hello on QuickJS", micro?.tasks?.["new instance (cold start, hello on QuickJS)"]?.p50Us === undefined ? undefined : micro.tasks["new instance (cold start, hello on QuickJS)"].p50Us / 1000, 1, "ms", atMost),
    target(`many functions: host RSS with ${many?.functions ?? "5000"} deployed, after cold requests`, many?.afterRssMB, 1024, "MB", atMost),
    target(`many functions: cold request to a random one of ${many?.functions ?? "5000"}, p99`, many?.coldP99Ms, 100, "ms", atMost),
    target("executor crossing overhead p50", micro?.crossingOverheadP50Us, 50, "µs", atMost),
    target("trivial in-thread call p50", micro?.trivialInThread?.p50Us, 20, "µs", atMost),
  ];
}

function densityOf(density, engine) {
  return density?.engines.find((e) => e.engine === engine);
}

function quickjsBuild(cold) {
  return cold?.build?.find((b) => b.engine === "QuickJS" && b.error === undefined);
}

function ratio(a, b) {
  return a === undefined || b === undefined || b === 0 ? undefined : a / b;
}
