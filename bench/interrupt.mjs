// Interrupt checks (runtime/src/util/wasm-instrument.ts), measured on a real
// StarlingMonkey component run in-thread, as an executor runs it: what
// instrumenting the engine module costs (time, size), what the checks cost
// when nobody asks (a trivial warm call, a CPU-bound call: the original and
// the instrumented module side by side, in alternating rounds), how fast a
// guest spinning past its deadline stops once another thread raises the
// flag, and how fast a computing guest gives its thread back when asked.
// Branch hints are read (prepare.ts turns V8's flag on, as the host does).
// `node bench/interrupt.mjs [--quick]` prints JSON; run.mjs runs it as the
// "interrupt" section. Needs `npm run build` and the bench project built
// (run.mjs's prepare step; `trivial` and `busy`).
import { join } from "node:path";
import { Worker } from "node:worker_threads";
import { Bench } from "tinybench";
import { readArtifact } from "../runtime/dist/index.js";
import { prepareComponent } from "../runtime/dist/artifact/prepare.js";
import { SandboxInstance } from "../runtime/dist/sandbox/instance.js";
import { INTERRUPT_FLAGS, interruptMemory } from "../runtime/dist/sandbox/interrupt.js";
import { rewriteModule } from "../runtime/dist/util/wasm-binary.js";
import { instrumentInterrupts } from "../runtime/dist/util/wasm-instrument.js";
import { largestCoreModule } from "./lib/core-module.mjs";
import { HELLO_BUILD, WFN_CACHE_DIR } from "./lib/paths.mjs";

const quick = process.argv.includes("--quick");
/** Iterations of busy's loop: about 20 ms of guest time. */
const BUSY_N = 150_000;

const capabilities = (name) => ({ functionName: name, env: {}, logLimitBytes: 256 * 1024, allowedOutboundHosts: [], maxOutboundRequestBytes: 1 << 20, maxOutboundResponseBytes: 1 << 20 });
const context = (name, deadlineMs = Date.now() + 600_000) => ({
  requestId: "00000000-0000-4000-8000-000000000000",
  functionName: name,
  functionVersion: "$LATEST",
  invokedFunctionArn: `arn:aws:lambda:local:000000000000:function:${name}`,
  memoryLimitMb: 128,
  deadlineMs: BigInt(deadlineMs),
  clientContext: undefined,
});
const invoke = (payload) => ({ tag: "invoke", val: { payload: JSON.stringify(payload) } });

/** Instantiates a prepared component on this thread with its own interrupt memory (an instrumented one reads it). */
async function inThread(prepared, name) {
  const glue = await import(prepared.glueUrl);
  const modules = new Map(prepared.modules);
  const images = new Map(prepared.images.map(([module, image]) => [modules.get(module), image]));
  const flags = interruptMemory();
  const supply = prepared.interrupts.length === 0 ? undefined : { memories: new Map(prepared.interrupts.map(([module, limits]) => [modules.get(module), limits])), flags };
  const local = {
    flags: new Int32Array(flags.buffer),
    instrumented: supply !== undefined,
    create: () => SandboxInstance.create(glue, modules, images, capabilities(name), { interrupt: supply }),
    async call(event, deadlineMs) {
      const result = await local.instance.call(event, context(name, deadlineMs));
      if (local.instance.trapped) local.instance = local.create();
      return result;
    },
  };
  local.instance = local.create();
  return local;
}

function ok(result, what) {
  if (result.status !== "ok") throw new Error(`${what}: ${result.status} ${JSON.stringify(result.error ?? result.message)}`);
  return result.outcome;
}

/** The component's largest core module (the JavaScript engine), rewritten as prepare does. */
async function engineModule(component) {
  return rewriteModule((await largestCoreModule(component)).bytes, 128 * 16, true).module;
}

function instrumentCost(engine) {
  const times = [];
  let result;
  for (let i = 0; i < (quick ? 5 : 15); i++) {
    const started = performance.now();
    result = instrumentInterrupts(engine);
    times.push(performance.now() - started);
  }
  if ("reason" in result) throw new Error(`the engine module was refused: ${result.reason}`);
  const sorted = times.slice(1).sort((a, b) => a - b);
  return {
    inputBytes: engine.byteLength,
    outputBytes: result.module.byteLength,
    growthPercent: (result.module.byteLength / engine.byteLength - 1) * 100,
    checks: result.checks,
    firstMs: times[0],
    warmMedianMs: sorted[Math.floor(sorted.length / 2)],
  };
}

/**
 * p50 of the original and the instrumented task in alternating rounds (the
 * order swapped each round, so drift on a shared machine hits both alike).
 */
async function sideBySide(label, original, instrumented, time) {
  const rounds = quick ? 2 : 8;
  const p50 = { original: [], instrumented: [] };
  for (let round = 0; round < rounds; round++) {
    const bench = new Bench({ time, warmup: true, warmupTime: quick ? 100 : 300, warmupIterations: 5, throws: true });
    const tasks = [
      ["original", original],
      ["instrumented", instrumented],
    ];
    if (round % 2 === 1) tasks.reverse();
    for (const [name, fn] of tasks) bench.add(name, fn);
    await bench.run();
    for (const task of bench.tasks) p50[task.name].push(task.result.latency.p50 * 1000);
  }
  const median = (xs) => xs.slice().sort((a, b) => a - b)[Math.floor(xs.length / 2)];
  const originalUs = median(p50.original);
  const instrumentedUs = median(p50.instrumented);
  // The best round of each: the least disturbed by other work on a shared machine.
  const best = { original: Math.min(...p50.original), instrumented: Math.min(...p50.instrumented) };
  return {
    label,
    originalP50Us: originalUs,
    instrumentedP50Us: instrumentedUs,
    ratio: instrumentedUs / originalUs,
    bestRoundP50Us: best,
    bestRatio: best.instrumented / best.original,
    rounds: p50,
  };
}

/** Another thread that raises flags on request (as the host's scheduler does), recording when. */
const WORKER = `
const { workerData, parentPort } = require("node:worker_threads");
const flags = new Int32Array(workerData);
parentPort.on("message", ({ afterMs, word }) => {
  if (afterMs < 0) return parentPort.postMessage(0);
  setTimeout(() => {
    const at = performance.timeOrigin + performance.now();
    Atomics.store(flags, word, 1);
    Atomics.store(flags, ${INTERRUPT_FLAGS.LOOK}, 1);
    parentPort.postMessage(at);
  }, afterMs);
});
`;
const now = () => performance.timeOrigin + performance.now();

async function flagRaiser(local) {
  const worker = new Worker(WORKER, { eval: true, workerData: local.flags.buffer });
  await new Promise((resolve) => worker.once("online", resolve));
  const raise = (afterMs, word = INTERRUPT_FLAGS.LOOK) =>
    new Promise((resolve) => {
      worker.once("message", resolve);
      worker.postMessage({ afterMs, word });
    });
  // One round trip: the worker is listening before anything is timed.
  await raise(-1);
  return { raise, close: () => worker.terminate() };
}

/**
 * A guest in an endless loop past its deadline: another thread raises the
 * flag 50 ms in; the guest's next check stops it. This thread, and its
 * other instances, go on.
 */
async function stopSpinning(busy, trivial, runs) {
  const raiser = await flagRaiser(busy);
  const toReturn = [];
  try {
    for (let i = 0; i < runs; i++) {
      const raised = raiser.raise(50);
      const result = await busy.instance.call(invoke({ n: 1e15 }), context("busy", Date.now() + 10));
      const returnedAt = now();
      // Discarded, as the pool does (not counted).
      busy.instance = busy.create();
      if (result.status !== "trap" || !/timeout/.test(result.message)) throw new Error(`the spinning guest ended with ${JSON.stringify(result).slice(0, 300)}`);
      toReturn.push(returnedAt - (await raised));
      ok(await trivial.call(invoke(null)), "trivial after an interruption");
    }
  } finally {
    await raiser.close();
  }
  return { runs, setToReturnMaxMs: Math.max(...toReturn), setToReturnMs: toReturn };
}

/**
 * A CPU-bound call asked to give its thread back 10 ms in: how long until
 * the thread runs the other work waiting for it, and whether the call then
 * finishes with the same answer.
 */
async function yieldOnRequest(busy, expected, n) {
  const raiser = await flagRaiser(busy);
  try {
    const raised = raiser.raise(10, INTERRUPT_FLAGS.YIELD);
    let otherWorkAt = 0;
    // Other work already waiting on this thread (as a message from the host would be).
    const other = setImmediate(() => (otherWorkAt = now()));
    const started = performance.now();
    const outcome = ok(await busy.call(invoke({ n })), "busy asked to yield");
    const callMs = performance.now() - started;
    clearImmediate(other);
    const raisedAt = await raised;
    return {
      callMs,
      otherWorkRanDuringCall: otherWorkAt > 0 && otherWorkAt < performance.timeOrigin + started + callMs,
      setToOtherWorkMs: otherWorkAt > 0 ? otherWorkAt - raisedAt : undefined,
      sameAnswer: JSON.stringify(outcome) === JSON.stringify(expected),
    };
  } finally {
    await raiser.close();
  }
}

export async function runInterrupt() {
  const [trivialArtifact, busyArtifact] = await Promise.all([readArtifact(join(HELLO_BUILD, "trivial")), readArtifact(join(HELLO_BUILD, "busy"))]);
  const prepare = (artifact, interrupt) => prepareComponent(artifact, WFN_CACHE_DIR, { interrupt, reuse: false });
  const trivialPlain = await prepare(trivialArtifact, false);
  const instrumentation = instrumentCost(await engineModule(trivialArtifact.component));
  const trivialChecked = await prepare(trivialArtifact, true);
  const busyPlain = await prepare(busyArtifact, false);
  const busyChecked = await prepare(busyArtifact, true);
  const local = {
    trivialPlain: await inThread(trivialPlain, "trivial"),
    trivialChecked: await inThread(trivialChecked, "trivial"),
    busyPlain: await inThread(busyPlain, "busy"),
    busyChecked: await inThread(busyChecked, "busy"),
  };
  for (const [name, one] of Object.entries(local)) {
    if (one.instrumented !== name.endsWith("Checked")) throw new Error(`${name}: expected ${name.endsWith("Checked") ? "an instrumented" : "a plain"} component`);
  }
  const expected = ok(await local.busyPlain.call(invoke({ n: BUSY_N })), "busy");
  const answer = ok(await local.busyChecked.call(invoke({ n: BUSY_N })), "busy instrumented");
  if (JSON.stringify(answer) !== JSON.stringify(expected)) throw new Error(`busy answered ${JSON.stringify(answer)} instrumented, ${JSON.stringify(expected)} not`);
  const call = (instance, payload, what) => async () => {
    ok(await instance.call(invoke(payload)), what);
  };
  const trivial = await sideBySide("trivial warm call (invoke → 1)", call(local.trivialPlain, null, "trivial"), call(local.trivialChecked, null, "trivial"), quick ? 300 : 750);
  const busy = await sideBySide(`CPU-bound call (busy, n=${BUSY_N})`, call(local.busyPlain, { n: BUSY_N }, "busy"), call(local.busyChecked, { n: BUSY_N }, "busy"), quick ? 1000 : 1500);
  const stop = await stopSpinning(local.busyChecked, local.trivialChecked, quick ? 3 : 10);
  const n = BUSY_N * 5;
  const yielded = await yieldOnRequest(local.busyChecked, ok(await local.busyPlain.call(invoke({ n })), "busy"), n);
  return {
    node: process.version,
    instrumentation,
    prepareMs: { original: busyPlain.compileMs, instrumented: busyChecked.compileMs },
    trivial,
    busy,
    stop,
    yielded,
  };
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const result = await runInterrupt();
  if (process.send) process.send({ result });
  else console.log(JSON.stringify(result, null, 2));
}
