// `npm run bench`: measures wfn side by side with the systems a user would
// pick instead, in one run on this machine, and writes bench/results/.
// Sections: prepare (builds), micro, interrupt checks, HTTP load, I/O-bound load, cold paths, density, many functions; then the
// targets and the report. `--quick` is a short smoke run (about 2 minutes).
// `--only micro,load,...` runs some sections (the others are left empty).
// Exits non-zero only when something crashed, never for a missed target.
import { loadavg } from "node:os";
import { parseArgs } from "node:util";
import { fileURLToPath } from "node:url";
import { runCold } from "./cold.mjs";
import { runDensity } from "./density.mjs";
import { runScript } from "./lib/child.mjs";
import { describeMachine } from "./lib/machine.mjs";
import { killAll } from "./lib/process.mjs";
import { WFN_CACHE_DIR } from "./lib/paths.mjs";
import { runIo } from "./io.mjs";
import { runLoad } from "./load.mjs";
import { runMany } from "./many.mjs";
import { prepare } from "./prepare.mjs";
import { writeResults } from "./report.mjs";
import { checkTargets } from "./targets.mjs";

const SECTIONS = ["micro", "interrupt", "kv", "store", "load", "io", "cold", "density", "many"];
const { values } = parseArgs({
  options: { quick: { type: "boolean", default: false }, only: { type: "string" }, help: { type: "boolean", short: "h" } },
});
if (values.help) {
  console.log("Usage: node bench/run.mjs [--quick] [--only micro,interrupt,kv,store,load,io,cold,density,many]\nSee bench/README.md.");
  process.exit(0);
}
const only = values.only ? values.only.split(",").map((s) => s.trim()) : SECTIONS;
for (const name of only) if (!SECTIONS.includes(name)) throw new Error(`--only: unknown section ${name} (known: ${SECTIONS.join(", ")})`);

const quick = values.quick;
const settings = quick
  ? { connections: [1, 50], ioConnections: [50, 200], warmupS: 1, durationS: 3, quietWaitMs: 2000, coldRuns: 2, burstSize: 20, densityCounts: [0, 16, 32], manyCount: 500, manyRequests: 50 }
  : { connections: [1, 50], ioConnections: [50, 200], warmupS: 3, durationS: 10, quietWaitMs: 5000, coldRuns: 5, burstSize: 20, densityCounts: [0, 25, 50, 100], manyCount: 5000, manyRequests: 200 };

// Every child (wfn serve, builds, embedded hosts) uses the same wfn cache.
process.env.WFN_CACHE_DIR = WFN_CACHE_DIR;

const started = performance.now();
const log = (line) => console.log(line);
const elapsed = () => `${((performance.now() - started) / 1000).toFixed(0)} s`;
const results = {
  startedAt: new Date().toISOString(),
  mode: quick ? "quick" : "full",
  settings,
  machine: describeMachine(),
  micro: undefined,
  interrupt: undefined,
  kv: undefined,
  store: undefined,
  load: undefined,
  io: undefined,
  cold: undefined,
  density: undefined,
  many: undefined,
  errors: {},
  targets: [],
  durationS: 0,
};

log(`wfn benchmarks (${results.mode}) on ${results.machine.cpu}, ${results.machine.cores} cores, Node ${results.machine.node}`);
if (results.machine.loadAverageAtStart[0] > 0.5) {
  log(`note: the machine is busy (load average ${results.machine.loadAverageAtStart[0]}); numbers will be noisy`);
}

/** Runs one section; a crash is recorded (and makes the exit code non-zero) but the other sections still run. */
async function section(name, run) {
  if (!only.includes(name)) return;
  log(`\n== ${name} (${elapsed()})`);
  try {
    results[name] = await run();
  } catch (error) {
    results.errors[name] = error.stack ?? String(error);
    log(`  ${name} failed: ${error.message}`);
  }
}

let crashed = false;
try {
  log(`\n== prepare (${elapsed()})`);
  const built = await prepare({ log });
  await section("micro", async () => {
    const micro = await runScript(fileURLToPath(new URL("./micro.mjs", import.meta.url)), quick ? ["--quick"] : [], { timeoutMs: 300_000 });
    for (const [name, task] of Object.entries(micro.tasks)) {
      log(`  ${name}: p50 ${(task.p50Us / 1000).toPrecision(3)} ms${task.failures ? ` (${task.failures.count} calls failed: ${task.failures.first})` : ""}`);
    }
    return micro;
  });
  await section("interrupt", async () => {
    const interrupt = await runScript(fileURLToPath(new URL("./interrupt.mjs", import.meta.url)), quick ? ["--quick"] : [], { timeoutMs: 300_000 });
    log(`  trivial call ${interrupt.trivial.ratio.toFixed(2)}×, CPU-bound call ${interrupt.busy.ratio.toFixed(2)}× with checks; a spinning guest stops ${interrupt.stop.setToReturnMaxMs.toFixed(1)} ms after the flag`);
    return interrupt;
  });
  await section("kv", async () => {
    const kv = await runScript(fileURLToPath(new URL("./kv.mjs", import.meta.url)), quick ? ["--quick"] : [], { timeoutMs: 300_000 });
    for (const op of ["set", "get", "list"]) log(`  ${op}: ${Math.round(kv[op].guestOpsPerS)} ops/s from a guest, ${Math.round(kv[op].directOpsPerS)} on the store directly (${kv[op].ratio.toFixed(2)}×)`);
    return kv;
  });
  await section("store", async () => {
    const store = await runScript(fileURLToPath(new URL("./store.mjs", import.meta.url)), quick ? ["--quick"] : [], { timeoutMs: 300_000 });
    for (const row of Object.values(store.stores)) {
      log(
        row.skipped
          ? `  ${row.label}: skipped (${row.skipped})`
          : `  ${row.label}: ${Math.round(row.endToEndPerS)} messages/s end to end, sends ${Math.round(row.sendPerS)}/s; ${Math.round(row.asyncPerS)} async invocations/s` +
              (row.storeAlonePerS === undefined ? "" : `; the store alone ${Math.round(row.storeAlonePerS)}/s`) +
              (row.commitsPerMessage === undefined ? "" : `; ${row.commitsPerMessage.toFixed(2)} commits per message, ${row.commitsPerInvocation.toFixed(2)} per async invocation`) +
              (row.propagationMs === undefined ? "" : `; a deploy reaches the other hosts in ${row.propagationMs.p50.toFixed(0)} ms (p50, max ${row.propagationMs.max.toFixed(0)})`),
      );
    }
    return store;
  });
  await section("load", () => runLoad({ built, ...settings, log }));
  await section("io", () => runIo({ ...settings, connections: settings.ioConnections, log }));
  await section("cold", () => runCold({ built, runs: settings.coldRuns, burstSize: settings.burstSize, log }));
  await section("density", () => runDensity({ counts: settings.densityCounts, log }));
  await section("many", () => runMany({ count: settings.manyCount, requests: settings.manyRequests, log }));
} catch (error) {
  results.errors.prepare = error.stack ?? String(error);
  log(`prepare failed: ${error.message}`);
} finally {
  killAll();
}
crashed = Object.keys(results.errors).length > 0;

results.machine.loadAverageAtEnd = loadavg().map((x) => Math.round(x * 100) / 100);
results.targets = checkTargets(results);
results.durationS = (performance.now() - started) / 1000;
const files = await writeResults(results);

log(`\n== targets`);
for (const t of results.targets) log(`  ${t.status.padEnd(4)}  ${t.name}`);
log(`\nwrote ${files.markdown}, ${files.svg} and ${files.json} in ${elapsed()}`);
if (crashed) {
  log(`some sections crashed: ${Object.keys(results.errors).join(", ")}`);
  process.exitCode = 1;
}
