// The project's performance targets, checked against one run's results.
// A target whose inputs are missing (a peer not available, a section that
// failed) is reported as "n/a", never as a pass. Missing a target never
// fails the run.

const runAt = (load, id, connections) => {
  const peer = load?.find((p) => p.id === id);
  return peer?.available ? peer.runs.find((r) => r.connections === connections) : undefined;
};

function target(name, value, limit, unit, holds) {
  if (value === undefined || limit === undefined || Number.isNaN(value) || Number.isNaN(limit)) {
    return { name, status: "n/a", value, limit, unit };
  }
  return { name, status: holds(value, limit) ? "PASS" : "FAIL", value, limit, unit };
}
const atLeast = (value, limit) => value >= limit;
const atMost = (value, limit) => value <= limit;

export function checkTargets({ micro, load, cold, density }) {
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
    target("cold start (new instance) p50", micro?.coldStart ? micro.coldStart.p50Us / 1000 : undefined, 3, "ms", atMost),
    target("deploy → first response, warm transpile cache (p50)", cold?.deployWarm?.totalP50Ms, 100, "ms", atMost),
    target("density: warm instances per GB of host RSS", density?.instancesPerGB, 100, "/GB", atLeast),
    target("executor crossing overhead p50", micro?.crossingOverheadP50Us, 50, "µs", atMost),
    target("trivial in-thread call p50", micro?.trivialInThread?.p50Us, 20, "µs", atMost),
  ];
}

function ratio(a, b) {
  return a === undefined || b === undefined || b === 0 ? undefined : a / b;
}
