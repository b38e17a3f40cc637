// Queue throughput on each store, side by side in one run: the embedded
// SQLite store (on disk) and PostgreSQL (a throwaway local server, the same
// one the tests use), and a fleet of three hosts on that PostgreSQL. Per row:
// - end to end: messages sent through the host(s) (`host.queues.send`, 20 at
//   a time, round robin over the hosts) until the consumers (bench/apps/queue's
//   `drain`, batches of 10) have taken and deleted every one;
// - asynchronous invocations: `trivial` invoked with the Event type, 20 at a
//   time over the hosts, until none is pending;
// - the store alone: send in batches of 10, receive 10, delete them, with
//   no host — what the store costs per message;
// - for the fleet, deploy propagation: a configuration change made through
//   one host, until each of the other two runs the new version.
// The three hosts of the fleet share this process (one executor each) and
// its two cores. `node bench/store.mjs [--quick]` prints JSON; run.mjs runs
// it as the "store" section.
import { mkdtemp, rm } from "node:fs/promises";
import pg from "pg";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { createHost, readArtifact, silentSink } from "../runtime/dist/index.js";
import { openSqliteStore } from "../runtime/dist/store/sqlite.js";
import { openPostgresStore } from "../runtime/dist/store/postgres.js";
import { postgresBin, startPostgres } from "../test/helpers/postgres.ts";
import { HELLO_BUILD, QUEUE_BUILD, WFN_CACHE_DIR } from "./lib/paths.mjs";

const quick = process.argv.includes("--quick");
const MESSAGES = quick ? 500 : 3000;
const DIRECT = quick ? 500 : 2000;
const INVOCATIONS = quick ? 300 : 1500;
const SENDERS = 20;
const KEY = "bench-store-admin-key-0123456789";

/** Hosts on one store (one executor each), with the queue app and `trivial`. */
async function startHosts(count, hostOptions) {
  const trivial = await readArtifact(join(HELLO_BUILD, "trivial"));
  const hosts = [];
  // One after another: each deploys the same versions, the later ones finding them there.
  for (let i = 0; i < count; i++) hosts.push(await createHost({ dir: QUEUE_BUILD, functions: [trivial], cacheDir: WFN_CACHE_DIR, log: silentSink, executors: 1, adminKeys: [KEY], ...hostOptions(i) }));
  return hosts;
}

/** Runs `total` operations, `SENDERS` at a time, each on the next host in turn. */
async function spread(hosts, total, operation) {
  let next = 0;
  await Promise.all(
    Array.from({ length: SENDERS }, async () => {
      while (next < total) {
        const n = next++;
        await operation(hosts[n % hosts.length], n);
      }
    }),
  );
}

async function until(done) {
  while (!(await done())) await new Promise((resolve) => setTimeout(resolve, 20));
}

async function endToEnd(hosts) {
  const started = performance.now();
  await spread(hosts, MESSAGES, (host, n) => host.queues.send("jobs", `message ${n}`));
  const sentMs = performance.now() - started;
  await until(async () => {
    const jobs = (await hosts[0].queues.stats()).find((q) => q.name === "jobs");
    return jobs.visible === 0 && jobs.inFlight === 0;
  });
  const doneMs = performance.now() - started;
  return { sendPerS: MESSAGES / (sentMs / 1000), endToEndPerS: MESSAGES / (doneMs / 1000) };
}

async function asyncInvocations(hosts) {
  const started = performance.now();
  await spread(hosts, INVOCATIONS, (host) => host.invokeAsync("trivial", {}));
  const pending = async () => (await (await hosts[0].fetch(new Request("http://bench/_wfn/async", { headers: { authorization: `Bearer ${KEY}` } }))).json()).pending;
  await until(async () => (await pending()) === 0);
  return INVOCATIONS / ((performance.now() - started) / 1000);
}

/** A configuration change through the first host: how long until each of the others runs the new version (ms, each). */
async function propagation(hosts, rounds) {
  const times = [];
  for (let round = 0; round < rounds; round++) {
    const started = performance.now();
    const { functions } = await hosts[0].updateConfiguration("drain", { env: { ROUND: String(round) } });
    const version = functions[0].to;
    const deployedMs = performance.now() - started;
    await Promise.all(
      hosts.slice(1).map(async (host) => {
        await until(async () => host.function("drain")?.latestVersion === version);
        times.push(performance.now() - started - deployedMs);
      }),
    );
  }
  return times.sort((a, b) => a - b);
}

/**
 * Transactions PostgreSQL committed in database `url` (every statement outside a transaction is
 * one). Read with no host connected: a backend may hold its counts until it is idle for 10 s, or
 * until it ends.
 */
async function commits(url) {
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  try {
    const { rows } = await client.query("SELECT xact_commit FROM pg_stat_database WHERE datname = current_database()");
    return Number(rows[0].xact_commit);
  } finally {
    await client.end();
  }
}

/** `work` on fresh hosts, closed afterwards; with `url`, what PostgreSQL committed meanwhile (start-up and close included: a few dozen). */
async function onHosts(count, hostOptions, url, work) {
  const before = url === undefined ? 0 : await commits(url);
  const hosts = await startHosts(count, hostOptions);
  let result;
  try {
    result = await work(hosts);
  } finally {
    await Promise.all(hosts.map((host) => host.close()));
  }
  // The ended sessions' counts reach the statistics shortly after.
  if (url !== undefined) await new Promise((resolve) => setTimeout(resolve, 1000));
  return { result, commits: url === undefined ? undefined : (await commits(url)) - before };
}

async function row(label, count, hostOptions, extra = async () => ({}), url = undefined) {
  const queue = await onHosts(count, hostOptions, url, endToEnd);
  const invocations = await onHosts(count, hostOptions, url, asyncInvocations);
  const rest = await onHosts(count, hostOptions, undefined, extra);
  const perUnit = url === undefined ? {} : { commitsPerMessage: queue.commits / MESSAGES, commitsPerInvocation: invocations.commits / INVOCATIONS };
  return { label, hosts: count, ...queue.result, asyncPerS: invocations.result, ...perUnit, ...rest.result };
}

async function storeAlone(store) {
  const started = performance.now();
  for (let i = 0; i < DIRECT; i += 10) {
    const now = Date.now();
    await store.sendMessages("direct", Array.from({ length: 10 }, (_, k) => ({ body: `m${i + k}` })), now);
    const { messages } = await store.receiveMessages("direct", { max: 10, visibilityMs: 30_000, now, deadLetterAfter: 3, deadLetterQueue: undefined });
    await store.deleteMessages("direct", messages.map((m) => m.receiptHandle));
  }
  return DIRECT / ((performance.now() - started) / 1000);
}

const result = { messages: MESSAGES, invocations: INVOCATIONS, senders: SENDERS, directMessages: DIRECT, stores: {} };
const scratch = await mkdtemp(join(tmpdir(), "wfn-bench-store-"));
let postgres;
try {
  const dataDir = join(scratch, "host");
  result.stores.sqlite = await row("SQLite (on disk), one host", 1, () => ({ dataDir }));
  const direct = await openSqliteStore(join(scratch, "direct"));
  try {
    result.stores.sqlite.storeAlonePerS = await storeAlone(direct);
  } finally {
    await direct.close();
  }
  if (postgresBin() === undefined) {
    result.stores.postgres = { label: "PostgreSQL", skipped: "PostgreSQL is not installed (apt-get install -y postgresql)" };
  } else {
    postgres = await startPostgres();
    const one = await postgres.database("host");
    result.stores.postgres = await row("PostgreSQL (local, fsync off), one host", 1, () => ({ store: one }), undefined, one);
    const fleet = await postgres.database("fleet");
    const dirs = await Promise.all([0, 1, 2].map((i) => mkdtemp(join(scratch, `fleet-${i}-`))));
    result.stores.fleet = await row("PostgreSQL, three hosts", 3, (i) => ({ store: fleet, dataDir: dirs[i] }), async (hosts) => {
      const times = await propagation(hosts, quick ? 2 : 5);
      return { propagationMs: { p50: times[Math.floor(times.length / 2)], max: times.at(-1), samples: times.length } };
    }, fleet);
    const pgDirect = await openPostgresStore(await postgres.database("direct"));
    try {
      result.stores.postgres.storeAlonePerS = await storeAlone(pgDirect);
    } finally {
      await pgDirect.close();
    }
  }
} finally {
  await postgres?.stop();
  await rm(scratch, { recursive: true, force: true });
}
// run.mjs reads the result over IPC; run alone, it prints it.
if (process.send) process.send({ result });
else console.log(JSON.stringify(result, null, 2));
