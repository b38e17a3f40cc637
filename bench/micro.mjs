// Micro-benchmarks of the host's own costs, side by side in one run:
// a warm call in-thread vs through an executor (the crossing), a new instance
// (cold start), and how fast a timeout is detected. Prints JSON on stdout
// (see bench/README.md); `node bench/micro.mjs` runs it alone.
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { Bench } from "tinybench";
import { createHost, readArtifact } from "../runtime/dist/index.js";
import { prepareComponent } from "../runtime/dist/artifact/prepare.js";
import { SandboxInstance } from "../runtime/dist/sandbox/instance.js";

const ROOT = fileURLToPath(new URL("..", import.meta.url));
const CACHE = process.env.WFN_CACHE_DIR ?? join(ROOT, ".wfn", "cache");
const HELLO = join(ROOT, "examples", "hello", ".wfn", "build", "hello");
const SPIN = join(ROOT, "test", "fixtures", "hostile", ".wfn", "build", "spin");
const quick = process.argv.includes("--quick");

const capabilities = { functionName: "hello", env: { GREETING: "hi" }, logLimitBytes: 256 * 1024, allowedOutboundHosts: [], maxOutboundResponseBytes: 1 << 20 };
const context = () => ({
  requestId: "00000000-0000-4000-8000-000000000000",
  functionName: "hello",
  functionVersion: "$LATEST",
  invokedFunctionArn: "arn:aws:lambda:local:000000000000:function:hello",
  memoryLimitMb: 128,
  deadlineMs: BigInt(Date.now() + 60_000),
  clientContext: undefined,
});
const httpEvent = () => ({ tag: "http", val: { method: "GET", url: "http://localhost/", headers: [["accept", "*/*"]], body: new Uint8Array(0) } });

const stats = (task) => {
  const latency = task.result.latency;
  return { p50Us: latency.p50 * 1000, p99Us: latency.p99 * 1000, meanUs: latency.mean * 1000, samples: latency.samplesCount };
};

export async function runMicro() {
  const artifact = await readArtifact(HELLO);
  const prepared = await prepareComponent(artifact, CACHE);
  const glue = await import(prepared.glueUrl);
  const modules = new Map(prepared.modules);
  const inThread = SandboxInstance.create(glue, modules, capabilities);
  const host = await createHost({ functions: [artifact], cacheDir: CACHE, executors: 1, log: () => {} });

  const time = quick ? 1500 : 4000;
  const bench = new Bench({ time, warmup: true, warmupTime: 500 });
  bench
    // Async like the executor task, so both pay tinybench's await.
    .add("warm call, in-thread (hello, HTTP event)", async () => {
      inThread.call(httpEvent(), context());
    })
    .add("warm call, through an executor (hello, HTTP event)", async () => {
      await host.dispatch("hello", httpEvent());
    })
    .add("new instance (cold start, hello)", () => {
      SandboxInstance.create(glue, modules, capabilities);
    });
  await bench.run();
  const [inThreadTask, executorTask, coldTask] = bench.tasks;
  const inThreadStats = stats(inThreadTask);
  const executorStats = stats(executorTask);
  await host.close();

  const timeout = await timeoutLatency(quick ? 3 : 8);
  const crossingUs = executorStats.p50Us - inThreadStats.p50Us;
  return {
    warmCallInThread: inThreadStats,
    warmCallExecutor: executorStats,
    crossingOverheadP50Us: crossingUs,
    coldStart: stats(coldTask),
    timeoutDetection: timeout,
    targets: [{ name: "executor crossing overhead p50 <= 50 us", value: crossingUs, pass: crossingUs <= 50 }],
  };
}

/** How long past `timeoutMs` a spinning guest is answered, over a few runs. */
async function timeoutLatency(runs) {
  const artifact = await readArtifact(SPIN);
  const host = await createHost({ functions: [artifact], cacheDir: CACHE, executors: 1, log: () => {} });
  const late = [];
  for (let i = 0; i < runs; i++) {
    // Let the replaced executor start and re-warm first, so only detection is measured.
    while (host.functions()[0].instances.idle < 1) await new Promise((resolve) => setTimeout(resolve, 50));
    await new Promise((resolve) => setTimeout(resolve, 200));
    const started = performance.now();
    await host.invoke("spin", {});
    late.push(performance.now() - started - artifact.manifest.config.timeoutMs);
  }
  await host.close();
  late.sort((a, b) => a - b);
  return { timeoutMs: artifact.manifest.config.timeoutMs, lateP50Ms: late[Math.floor(late.length / 2)], lateMaxMs: late.at(-1) };
}

if (import.meta.url === `file://${process.argv[1]}`) {
  console.log(JSON.stringify(await runMicro(), null, 2));
}
