// Interrupt checks (runtime/src/util/wasm-instrument.ts), measured on a real
// StarlingMonkey component run in-thread: what instrumenting the engine module
// costs (time, size), what the checks cost when the flag is never set (a
// trivial warm call, a CPU-bound call: the original and the instrumented
// module side by side, in alternating rounds), and how fast a guest spinning
// forever is stopped, or paused and resumed, by another thread setting the flag.
// The side-by-side calls are measured again in a child process with V8's
// --experimental-wasm-branch-hinting, which reads the hints the instrumentation
// writes (the call out of the hot path).
// `node bench/interrupt.mjs [--quick]` prints JSON. Needs `npm run build` and
// `wfn build bench/apps/hello` (for `trivial` and `busy`).
import { execFile } from "node:child_process";
import { readFile, readdir, stat } from "node:fs/promises";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { promisify } from "node:util";
import { Worker } from "node:worker_threads";
import { Bench } from "tinybench";
import { readArtifact } from "../runtime/dist/index.js";
import { prepareComponent } from "../runtime/dist/artifact/prepare.js";
import { SandboxInstance } from "../runtime/dist/sandbox/instance.js";
import { rewriteModule } from "../runtime/dist/util/wasm-binary.js";
import { instrumentInterrupts } from "../runtime/dist/util/wasm-instrument.js";
import { HELLO_BUILD, WFN_CACHE_DIR } from "./lib/paths.mjs";

const quick = process.argv.includes("--quick");
/** Set in the child that measures with branch hints read (it measures the side-by-side calls only). */
const hintedChild = process.argv.includes("--hinted-child");
/** Iterations of busy's loop: about 20 ms of guest time. */
const BUSY_N = 150_000;

const capabilities = (name) => ({ functionName: name, env: {}, logLimitBytes: 256 * 1024, allowedOutboundHosts: [], maxOutboundRequestBytes: 1 << 20, maxOutboundResponseBytes: 1 << 20 });
const context = (name) => ({
  requestId: "00000000-0000-4000-8000-000000000000",
  functionName: name,
  functionVersion: "$LATEST",
  invokedFunctionArn: `arn:aws:lambda:local:000000000000:function:${name}`,
  memoryLimitMb: 128,
  deadlineMs: BigInt(Date.now() + 600_000),
  clientContext: undefined,
});
const invoke = (payload) => ({ tag: "invoke", val: { payload: JSON.stringify(payload) } });

/** The flags page: the i32 at 0 is the flag, the f64 at 8 when another thread set it (epoch ms). */
function newFlags() {
  const memory = new WebAssembly.Memory({ initial: 1, maximum: 1, shared: true });
  return { memory, flag: new Int32Array(memory.buffer, 0, 1), setAt: new Float64Array(memory.buffer, 8, 1) };
}

/** Instantiates a prepared component on this thread; an instrumented one gets its imports and `check` calls `onCheck()`. */
async function inThread(prepared, name) {
  const glue = await import(prepared.glueUrl);
  const modules = new Map(prepared.modules);
  const images = new Map(prepared.images.map(([module, image]) => [modules.get(module), image]));
  const flags = newFlags();
  const local = {
    flags,
    onCheck: () => {},
    interrupt:
      prepared.interrupts === undefined
        ? undefined
        : { memories: new Map(prepared.interrupts.map(([module, limits]) => [modules.get(module), limits])), flags: flags.memory, check: () => local.onCheck() },
    create: () => SandboxInstance.create(glue, modules, images, capabilities(name), local.interrupt),
    call(event) {
      const result = local.instance.call(event, context(name));
      if (local.instance.trapped) local.instance = local.create();
      return result;
    },
  };
  if (prepared.interrupts !== undefined && prepared.interrupts.length !== 1) throw new Error(`${name}: expected one instrumented core module, got ${prepared.interrupts.length}`);
  local.instance = local.create();
  return local;
}

function ok(result, what) {
  if (result.status !== "ok") throw new Error(`${what}: ${result.status} ${JSON.stringify(result.error ?? result.message)}`);
  return result.outcome;
}

/** The largest core module the transpiler wrote (the JavaScript engine), rewritten as prepare does. */
async function engineModule(glueUrl) {
  const dir = fileURLToPath(new URL(".", glueUrl));
  const sizes = await Promise.all((await readdir(dir)).filter((n) => n.endsWith(".wasm")).map(async (n) => ({ n, size: (await stat(join(dir, n))).size })));
  const raw = await readFile(join(dir, sizes.sort((a, b) => b.size - a.size)[0].n));
  return rewriteModule(raw, 128 * 16, true).module;
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

const WORKER = `
const { workerData, parentPort } = require("node:worker_threads");
const flag = new Int32Array(workerData, 0, 1);
const setAt = new Float64Array(workerData, 8, 1);
parentPort.on("message", ({ setAfterMs, clearAfterMs }) => {
  setTimeout(() => {
    setAt[0] = performance.timeOrigin + performance.now();
    Atomics.store(flag, 0, 1);
  }, setAfterMs);
  if (clearAfterMs !== undefined) setTimeout(() => { Atomics.store(flag, 0, 0); Atomics.notify(flag, 0); }, clearAfterMs);
});
parentPort.postMessage("ready");
`;
const now = () => performance.timeOrigin + performance.now();

/** A guest in an endless loop, stopped by a `check` that throws once another thread sets the flag. */
async function stopFromAnotherThread(busy, trivial, runs) {
  const worker = new Worker(WORKER, { eval: true, workerData: busy.flags.memory.buffer });
  await new Promise((resolve) => worker.once("message", resolve));
  const toCheck = [];
  const toReturn = [];
  try {
    for (let i = 0; i < runs; i++) {
      Atomics.store(busy.flags.flag, 0, 0);
      let checkedAt = 0;
      busy.onCheck = () => {
        checkedAt = now();
        throw new Error("interrupted by the host");
      };
      worker.postMessage({ setAfterMs: 50 });
      const result = busy.instance.call(invoke({ n: 1e15 }), context("busy"));
      const returnedAt = now();
      // Trapped: replaced, as the pool would (not counted in the time to return).
      busy.instance = busy.create();
      if (result.status !== "trap" || !result.message.includes("interrupted by the host")) throw new Error(`the spinning guest ended with ${JSON.stringify(result)}`);
      toCheck.push(checkedAt - busy.flags.setAt[0]);
      toReturn.push(returnedAt - busy.flags.setAt[0]);
      // This thread, and its other instances, go on.
      ok(trivial.call(invoke(null)), "trivial after an interruption");
    }
  } finally {
    await worker.terminate();
  }
  const max = (xs) => Math.max(...xs);
  return { runs, setToCheckMaxMs: max(toCheck), setToReturnMaxMs: max(toReturn), setToCheckMs: toCheck, setToReturnMs: toReturn };
}

/** A CPU-bound call paused for 50 ms (check waits until the other thread clears the flag), then finishing with the same answer. */
async function pauseFromAnotherThread(busy, expected, n) {
  Atomics.store(busy.flags.flag, 0, 0);
  busy.onCheck = () => {
    throw new Error("check called with the flag clear");
  };
  const unpaused = performance.now();
  ok(busy.call(invoke({ n })), "busy");
  const unpausedMs = performance.now() - unpaused;
  const worker = new Worker(WORKER, { eval: true, workerData: busy.flags.memory.buffer });
  await new Promise((resolve) => worker.once("message", resolve));
  try {
    Atomics.store(busy.flags.flag, 0, 0);
    let pauses = 0;
    busy.onCheck = () => {
      pauses++;
      Atomics.wait(busy.flags.flag, 0, 1);
    };
    worker.postMessage({ setAfterMs: 10, clearAfterMs: 60 });
    const started = performance.now();
    const outcome = ok(busy.call(invoke({ n })), "paused busy");
    const ms = performance.now() - started;
    const same = JSON.stringify(outcome) === JSON.stringify(expected);
    return { pausedForMs: 50, pauses, unpausedCallMs: unpausedMs, pausedCallMs: ms, sameAnswer: same };
  } finally {
    busy.onCheck = () => {};
    await worker.terminate();
  }
}

export async function runInterrupt() {
  const [trivialArtifact, busyArtifact] = await Promise.all([readArtifact(join(HELLO_BUILD, "trivial")), readArtifact(join(HELLO_BUILD, "busy"))]);
  const prepare = (artifact, interrupt) => prepareComponent(artifact, WFN_CACHE_DIR, { interrupt, reuse: false });
  const trivialPlain = await prepare(trivialArtifact, false);
  const instrumentation = hintedChild ? undefined : instrumentCost(await engineModule(trivialPlain.glueUrl));
  const trivialChecked = await prepare(trivialArtifact, true);
  const busyPlain = await prepare(busyArtifact, false);
  const busyChecked = await prepare(busyArtifact, true);
  const local = {
    trivialPlain: await inThread(trivialPlain, "trivial"),
    trivialChecked: await inThread(trivialChecked, "trivial"),
    busyPlain: await inThread(busyPlain, "busy"),
    busyChecked: await inThread(busyChecked, "busy"),
  };
  const expected = ok(local.busyPlain.call(invoke({ n: BUSY_N })), "busy");
  const answer = ok(local.busyChecked.call(invoke({ n: BUSY_N })), "busy instrumented");
  if (JSON.stringify(answer) !== JSON.stringify(expected)) throw new Error(`busy answered ${JSON.stringify(answer)} instrumented, ${JSON.stringify(expected)} not`);
  // The flag is never set here: a check would mean a wrong flag address.
  local.trivialChecked.onCheck = local.busyChecked.onCheck = () => {
    throw new Error("check called with the flag clear");
  };
  const call = (instance, payload, what) => async () => {
    ok(instance.call(invoke(payload)), what);
  };
  const trivial = await sideBySide("trivial warm call (invoke → 1)", call(local.trivialPlain, null, "trivial"), call(local.trivialChecked, null, "trivial"), quick ? 300 : 750);
  const busy = await sideBySide(`CPU-bound call (busy, n=${BUSY_N})`, call(local.busyPlain, { n: BUSY_N }, "busy"), call(local.busyChecked, { n: BUSY_N }, "busy"), quick ? 1000 : 1500);
  if (hintedChild) return { trivial, busy };
  const stop = await stopFromAnotherThread(local.busyChecked, local.trivialChecked, quick ? 3 : 10);
  const pause = await pauseFromAnotherThread(local.busyChecked, ok(local.busyPlain.call(invoke({ n: BUSY_N * 5 })), "busy"), BUSY_N * 5);
  const hinted = await withBranchHints();
  return {
    node: process.version,
    instrumentation,
    prepareMs: { original: busyPlain.compileMs, instrumented: busyChecked.compileMs },
    trivial,
    busy,
    branchHintsRead: hinted,
    stop,
    pause,
  };
}

/** The side-by-side calls again, in a child process where V8 reads branch hints (a process-wide flag, set before anything compiles). */
async function withBranchHints() {
  const args = ["--experimental-wasm-branch-hinting", fileURLToPath(import.meta.url), "--hinted-child", ...(quick ? ["--quick"] : [])];
  const { stdout } = await promisify(execFile)(process.execPath, args, { maxBuffer: 1 << 24 });
  return JSON.parse(stdout);
}

if (import.meta.url === `file://${process.argv[1]}`) {
  console.log(JSON.stringify(await runInterrupt(), null, 2));
}
