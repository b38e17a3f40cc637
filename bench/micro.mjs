// Micro-benchmarks of the host's own costs, side by side in one run (tinybench):
// loading an artifact with the transpile cache hit and missed, compiling the
// core module, a new instance (cold start), warm calls in-thread vs through an
// executor (the crossing), a trivial invoke, request/response bodies of
// 0 B .. 1 MB crossing the component boundary, and how fast a timeout is
// detected. `node bench/micro.mjs [--quick]` runs it alone and prints JSON;
// run.mjs runs it as a child process and gets the result over IPC.
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { setFlagsFromString } from "node:v8";
import { Bench } from "tinybench";
import { createHost, readArtifact } from "../runtime/dist/index.js";
import { prepareComponent } from "../runtime/dist/artifact/prepare.js";
import { largestCoreModule } from "./lib/core-module.mjs";
import { SandboxInstance } from "../runtime/dist/sandbox/instance.js";
import { interruptMemory } from "../runtime/dist/sandbox/interrupt.js";
import { C_HELLO_BUILD, ECHO_BUILD, HELLO_BUILD, HELLO_QJS_BUILD, SPIN_BUILD, WFN_CACHE_DIR } from "./lib/paths.mjs";

// V8 reuses a compiled module for identical bytes while one is alive; a host
// compiles each function version once, so measure compiles without that cache.
setFlagsFromString("--no-wasm-native-module-cache");

const quick = process.argv.includes("--quick");
const WARM_IN_THREAD = "warm call, in-thread (hello, GET /)";
const WARM_EXECUTOR = "warm call, through an executor (hello, GET /)";
const TRIVIAL_IN_THREAD = "trivial invoke, in-thread";
const TRIVIAL_EXECUTOR = "trivial invoke, through an executor";
const COLD_START = "new instance (cold start, hello)";
const QJS_COLD_START = "new instance (cold start, hello on QuickJS)";
const QJS_WARM_IN_THREAD = "warm call, in-thread (hello on QuickJS, GET /)";
const JSON_IN_THREAD = "CPU-heavy call, in-thread (JSON round trip of 100 KB + a regex, StarlingMonkey)";
const QJS_JSON_IN_THREAD = "CPU-heavy call, in-thread (JSON round trip of 100 KB + a regex, QuickJS)";
const C_COLD_START = "new instance (cold start, C wasi:http hello)";
const C_WARM_IN_THREAD = "warm call, in-thread (C wasi:http hello, GET /)";
const BODY_SIZES = [
  ["0 B", 0],
  ["1 KB", 1024],
  ["64 KB", 64 * 1024],
  ["1 MB", 1024 * 1024],
];

/** The pool replaces an instance whose memory passed 75% of memoryMB (128 MB for every function here). */
const RECYCLE_AT_BYTES = 0.75 * 128 * 1024 * 1024;
const capabilitiesOf = (name) => ({ functionName: name, env: {}, logLimitBytes: 256 * 1024, allowedOutboundHosts: [], maxOutboundRequestBytes: 1 << 20, maxOutboundResponseBytes: 1 << 20, maxResponseBytes: 6 << 20 });
const context = (name) => ({
  requestId: "00000000-0000-4000-8000-000000000000",
  functionName: name,
  functionVersion: "$LATEST",
  invokedFunctionArn: `arn:aws:lambda:local:000000000000:function:${name}`,
  memoryLimitMb: 128,
  deadlineMs: BigInt(Date.now() + 60_000),
  clientContext: undefined,
});
const httpEvent = (method, url, body = new Uint8Array(0)) => ({
  tag: "http",
  val: { method, url, headers: [["content-type", "application/octet-stream"]], body, route: undefined, remoteAddress: undefined },
});
const helloEvent = () => httpEvent("GET", "http://localhost/");
const invokeEvent = () => ({ tag: "invoke", val: { payload: "null" } });

/** Calls that did not answer "ok", per task: a fast failure must not pass for a fast call. */
const failures = new Map();
const describe = (result) => {
  const error = result.error;
  const what = error ? `${error.code ?? error.errorType ?? ""} ${error.message ?? ""}` : result.message;
  return `${result.status}: ${String(what).trim().slice(0, 200)}`;
};
const fail = (task, result) => {
  const entry = failures.get(task) ?? { count: 0, first: describe(result) };
  entry.count++;
  failures.set(task, entry);
};

/** Instantiates a prepared component on this thread, as an executor does. */
async function inThread(prepared, name) {
  const glue = await import(prepared.glueUrl);
  const modules = new Map(prepared.modules);
  const images = new Map(prepared.images.map(([module, image]) => [modules.get(module), image]));
  // An instrumented component (as the host prepares them) reads its executor's interrupt memory.
  const supply = prepared.interrupts.length === 0 ? undefined : { memories: new Map(prepared.interrupts.map(([module, limits]) => [modules.get(module), limits])), flags: interruptMemory() };
  const create = () => SandboxInstance.create(glue, modules, images, capabilitiesOf(name), { interrupt: supply });
  const local = {
    create,
    instance: create(),
    /** One call; a trapped instance, or one past 75% of its memory, is replaced, as the pool would. */
    async call(task, event) {
      const result = await local.instance.call(event, context(name));
      if (result.status !== "ok") fail(task, result);
      if (local.instance.trapped || result.memoryBytes > RECYCLE_AT_BYTES) local.instance = create();
    },
  };
  return local;
}

/** One call through an executor, failures counted. */
async function dispatch(host, task, name, event) {
  const result = await host.dispatch(name, event);
  if (result.status !== "ok") fail(task, result);
}

/** Calls and fails loudly if the guest did not answer as expected (a fast error would look like a fast call). */
function checked(result, what) {
  if (result.status !== "ok") throw new Error(`${what}: ${result.status} ${JSON.stringify(result.error ?? result.message)}`);
  return result;
}

const stats = (task) => {
  const latency = task.result.latency;
  return { p50Us: latency.p50 * 1000, p99Us: latency.p99 * 1000, meanUs: latency.mean * 1000, samples: latency.samplesCount };
};


export async function runMicro() {
  const [hello, trivial, echo] = await Promise.all([
    readArtifact(join(HELLO_BUILD, "hello")),
    readArtifact(join(HELLO_BUILD, "trivial")),
    readArtifact(ECHO_BUILD),
  ]);
  const helloPrepared = await prepareComponent(hello, WFN_CACHE_DIR);
  const helloLocal = await inThread(helloPrepared, "hello");
  const trivialLocal = await inThread(await prepareComponent(trivial, WFN_CACHE_DIR), "trivial");
  const echoLocal = await inThread(await prepareComponent(echo, WFN_CACHE_DIR), "echo");
  const coreModule = await largestCoreModule(hello.component);
  const host = await createHost({ functions: [hello, trivial, echo], cacheDir: WFN_CACHE_DIR, executors: 1, log: () => {} });
  checked(await helloLocal.instance.call(helloEvent(), context("hello")), "hello in-thread");
  checked(await host.dispatch("hello", helloEvent()), "hello through an executor");
  // The same hello on the other JavaScript engine, and as a wasi:http/proxy component in C, beside the JavaScript one (left out without clang).
  const qjsLocal = await inThread(await prepareComponent(await readArtifact(join(HELLO_QJS_BUILD, "hello-qjs")), WFN_CACHE_DIR), "hello-qjs");
  checked(await qjsLocal.instance.call(helloEvent(), context("hello-qjs")), "hello on QuickJS in-thread");
  const jsonLocal = await inThread(await prepareComponent(await readArtifact(join(HELLO_BUILD, "json")), WFN_CACHE_DIR), "json");
  const qjsJsonLocal = await inThread(await prepareComponent(await readArtifact(join(HELLO_QJS_BUILD, "json-qjs")), WFN_CACHE_DIR), "json-qjs");
  const jsonAnswers = [];
  for (const local of [jsonLocal, qjsJsonLocal]) {
    jsonAnswers.push(JSON.stringify(checked(await local.instance.call(invokeEvent(), context("json")), "the CPU-heavy call").outcome));
  }
  if (jsonAnswers[0] !== jsonAnswers[1]) throw new Error(`the CPU-heavy call answers differently on the two engines: ${jsonAnswers.join(" / ")}`);
  const cHello = await readArtifact(C_HELLO_BUILD).catch(() => undefined);
  const cLocal = cHello === undefined ? undefined : await inThread(await prepareComponent(cHello, WFN_CACHE_DIR), "c-hello");
  if (cLocal !== undefined) checked(await cLocal.instance.call(helloEvent(), context("c-hello")), "C hello in-thread");

  const time = quick ? 400 : 2000;
  const bench = new Bench({ time, iterations: 5, warmup: true, warmupTime: quick ? 100 : 300, warmupIterations: 5, throws: true });
  // About a second per sample: a few samples are enough.
  const slow = new Bench({ time: 0, iterations: quick ? 1 : 3, warmup: false, throws: true });
  const missDirs = [];
  slow.add("artifact load, transpile cache miss (hello)", async () => {
    const dir = await mkdtemp(join(tmpdir(), "wfn-bench-miss-"));
    missDirs.push(dir);
    await prepareComponent(hello, dir, { reuse: false });
  });
  bench
    .add("artifact load, transpile cache hit (hello)", async () => {
      await prepareComponent(hello, WFN_CACHE_DIR, { reuse: false });
    })
    .add(`module compile (WebAssembly.compile, ${(coreModule.bytes.byteLength / 2 ** 20).toFixed(1)} MB core module)`, async () => {
      await WebAssembly.compile(coreModule.bytes);
    })
    .add(COLD_START, async () => {
      helloLocal.create();
    })
    // Both awaited: an in-thread call is a promise too (the export is promising).
    .add(WARM_IN_THREAD, async () => {
      await helloLocal.call(WARM_IN_THREAD, helloEvent());
    })
    .add(WARM_EXECUTOR, async () => {
      await dispatch(host, WARM_EXECUTOR, "hello", helloEvent());
    })
    .add(TRIVIAL_IN_THREAD, async () => {
      await trivialLocal.call(TRIVIAL_IN_THREAD, invokeEvent());
    })
    .add(TRIVIAL_EXECUTOR, async () => {
      await dispatch(host, TRIVIAL_EXECUTOR, "trivial", invokeEvent());
    });
  bench
    .add(QJS_COLD_START, async () => {
      qjsLocal.create();
    })
    .add(QJS_WARM_IN_THREAD, async () => {
      await qjsLocal.call(QJS_WARM_IN_THREAD, helloEvent());
    })
    .add(JSON_IN_THREAD, async () => {
      await jsonLocal.call(JSON_IN_THREAD, invokeEvent());
    })
    .add(QJS_JSON_IN_THREAD, async () => {
      await qjsJsonLocal.call(QJS_JSON_IN_THREAD, invokeEvent());
    });
  if (cLocal !== undefined) {
    bench
      .add(C_COLD_START, async () => {
        cLocal.create();
      })
      .add(C_WARM_IN_THREAD, async () => {
        await cLocal.call(C_WARM_IN_THREAD, helloEvent());
      });
  }
  for (const [label, size] of BODY_SIZES) {
    // A fresh body each call in both: the executor transfers (detaches) the buffer it is given.
    const local = `echo ${label}, in-thread`;
    const remote = `echo ${label}, through an executor`;
    bench
      .add(local, async () => {
        await echoLocal.call(local, httpEvent("POST", "http://localhost/echo/raw", new Uint8Array(size)));
      })
      .add(remote, async () => {
        await dispatch(host, remote, "echo", httpEvent("POST", "http://localhost/echo/raw", new Uint8Array(size)));
      });
  }
  for (const [label, size] of BODY_SIZES) {
    const result = checked(await host.dispatch("echo", httpEvent("POST", "http://localhost/echo/raw", new Uint8Array(size))), `echo ${label}`);
    if (result.outcome.val.body.byteLength !== size) throw new Error(`echo ${label} returned ${result.outcome.val.body.byteLength} bytes`);
  }

  try {
    await slow.run();
    await bench.run();
  } finally {
    await host.close();
    await Promise.all(missDirs.map((dir) => rm(dir, { recursive: true, force: true })));
  }
  const tasks = Object.fromEntries(
    [...slow.tasks, ...bench.tasks].map((task) => [task.name, { ...stats(task), ...(failures.has(task.name) ? { failures: failures.get(task.name) } : {}) }]),
  );
  const crossingUs = tasks[WARM_EXECUTOR].p50Us - tasks[WARM_IN_THREAD].p50Us;
  return {
    tasks,
    warmCallInThread: tasks[WARM_IN_THREAD],
    warmCallExecutor: tasks[WARM_EXECUTOR],
    crossingOverheadP50Us: crossingUs,
    trivialInThread: tasks[TRIVIAL_IN_THREAD],
    coldStart: tasks[COLD_START],
    timeoutDetection: await timeoutLatency(quick ? 2 : 5),
  };
}

/** How long past `timeoutMs` a spinning guest is answered, over a few runs. */
async function timeoutLatency(runs) {
  const artifact = await readArtifact(SPIN_BUILD);
  const host = await createHost({ functions: [artifact], cacheDir: WFN_CACHE_DIR, executors: 1, log: () => {} });
  const late = [];
  try {
    for (let i = 0; i < runs; i++) {
      // Let the pool replace the abandoned instance first, so only detection is measured.
      while (host.functions()[0].instances.idle < 1) await new Promise((resolve) => setTimeout(resolve, 50));
      await new Promise((resolve) => setTimeout(resolve, 200));
      const started = performance.now();
      await host.invoke("spin", {});
      late.push(performance.now() - started - artifact.manifest.config.timeoutMs);
    }
  } finally {
    await host.close();
  }
  late.sort((a, b) => a - b);
  return { timeoutMs: artifact.manifest.config.timeoutMs, lateP50Ms: late[Math.floor(late.length / 2)], lateMaxMs: late.at(-1) };
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const result = await runMicro();
  if (process.send) process.send({ result });
  else console.log(JSON.stringify(result, null, 2));
}
