// Key-value operations per second from a guest (ctx.kv in bench/apps/hello's
// `kvbench`: one invocation runs a thousand operations one after another, on
// an embedded host with a store on disk), beside the same operations on the
// host's store directly (the SQLite room, no guest, no thread hop) in the
// same run: the ratio is what the capability's path costs (the guest's call,
// the suspension, the message to the main thread and back).
// `node bench/kv.mjs [--quick]` prints JSON; run.mjs runs it as the "kv" section.
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { createHost, silentSink } from "../runtime/dist/index.js";
import { openSqliteStore } from "../runtime/dist/store/sqlite.js";
import { HELLO_BUILD, WFN_CACHE_DIR } from "./lib/paths.mjs";

const quick = process.argv.includes("--quick");
const COUNT = quick ? 300 : 1000;
const ROUNDS = quick ? 2 : 4;
const SIZE = 100;
const LIMITS = { maxEntriesPerNamespace: 100_000 };

const dataDir = await mkdtemp(join(tmpdir(), "wfn-bench-kv-"));
const directDir = await mkdtemp(join(tmpdir(), "wfn-bench-kv-direct-"));
const host = await createHost({ dir: HELLO_BUILD, dataDir, cacheDir: WFN_CACHE_DIR, log: silentSink, executors: 1 });
const store = await openSqliteStore(directDir);
const value = new TextEncoder().encode("x".repeat(SIZE));

async function guest(op) {
  const result = await host.invoke("kvbench", { op, count: COUNT, size: SIZE });
  if (result.status !== "ok") throw new Error(`kvbench ${op} failed: ${JSON.stringify(result.error)}`);
  return COUNT / (JSON.parse(new TextDecoder().decode(result.outcome.val)).guestMs / 1000);
}

async function direct(op) {
  const started = performance.now();
  for (let i = 0; i < COUNT; i++) {
    const key = `key/${i % 100}`;
    if (op === "set") await store.kv.set("bench", key, value, undefined, Date.now(), LIMITS);
    else if (op === "get") await store.kv.get("bench", key, Date.now());
    else await store.kv.list("bench", "key/", undefined, 10, Date.now());
  }
  return COUNT / ((performance.now() - started) / 1000);
}

const median = (values) => [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)];
const rows = {};
try {
  for (const op of ["set", "get", "list"]) {
    const guestRates = [];
    const directRates = [];
    await guest(op); // warm: the instance, the statements
    await direct(op);
    for (let round = 0; round < ROUNDS; round++) {
      guestRates.push(await guest(op));
      directRates.push(await direct(op));
    }
    rows[op] = { guestOpsPerS: median(guestRates), directOpsPerS: median(directRates), ratio: median(guestRates) / median(directRates) };
  }
} finally {
  await host.close();
  await store.close();
  await rm(dataDir, { recursive: true, force: true });
  await rm(directDir, { recursive: true, force: true });
}
const result = { count: COUNT, rounds: ROUNDS, valueBytes: SIZE, ...rows };
// run.mjs reads the result over IPC; run alone, it prints it.
if (process.send) process.send({ result });
else console.log(JSON.stringify(result));
