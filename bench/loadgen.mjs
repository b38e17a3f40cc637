// The load generator, run as its own process (so it never shares an event
// loop with a server): autocannon against one URL, a warm-up run first, then
// the measured run. Talks to its parent over IPC: receives
// {url, connections, warmupS, durationS, rate?}, sends {phase: "measure"}
// when the measured run starts and {result} (or {error}) at the end. With
// `rate`, requests are paced at that many per second in all.
import autocannon from "autocannon";
import { summarize } from "./lib/stats.mjs";

const run = (options) => autocannon({ ...options, pipelining: 1, timeout: 10 });

async function measure({ url, connections, warmupS, durationS, rate }) {
  const paced = rate === undefined ? {} : { overallRate: rate };
  if (warmupS > 0) await run({ url, connections, duration: warmupS, ...paced });
  process.send({ phase: "measure" });
  // autocannon's histogram has 1 ms resolution; keep every 2xx latency (ms, float) instead.
  const latencies = [];
  const instance = run({ url, connections, duration: durationS, ...paced });
  instance.on("response", (_client, status, _bytes, responseTime) => {
    if (status >= 200 && status < 300) latencies.push(responseTime);
  });
  const result = await instance;
  const latency = summarize(latencies);
  return {
    connections,
    durationS: result.duration,
    requests: result.requests.total,
    requestsPerSecond: result.requests.total / result.duration,
    latencyP50Ms: latency.p50,
    latencyP99Ms: latency.p99,
    latencyMaxMs: latency.max,
    ok: result["2xx"],
    non2xx: result.non2xx,
    socketErrors: result.errors,
    timeouts: result.timeouts,
    errors: result.non2xx + result.errors,
  };
}

process.once("message", async (options) => {
  try {
    process.send({ result: await measure(options) });
  } catch (error) {
    process.send({ error: error.stack ?? String(error) });
  }
  process.disconnect();
});
