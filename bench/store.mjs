// Queue throughput on each store, side by side in one run: the embedded
// SQLite store (on disk) and PostgreSQL (a throwaway local server, the same
// one the tests use). Two figures per store:
// - end to end: messages sent through a host (`host.queues.send`, 20 at a
//   time) until its consumer (bench/apps/queue's `drain`, batches of 10) has
//   taken and deleted every one;
// - the store alone: send in batches of 10, receive 10, delete them, with
//   no host — what the store costs per message.
// `node bench/store.mjs [--quick]` prints JSON; run.mjs runs it as the "store" section.
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { createHost, silentSink } from "../runtime/dist/index.js";
import { openSqliteStore } from "../runtime/dist/store/sqlite.js";
import { openPostgresStore } from "../runtime/dist/store/postgres.js";
import { postgresBin, startPostgres } from "../test/helpers/postgres.ts";
import { QUEUE_BUILD, WFN_CACHE_DIR } from "./lib/paths.mjs";

const quick = process.argv.includes("--quick");
const MESSAGES = quick ? 500 : 3000;
const DIRECT = quick ? 500 : 2000;
const SENDERS = 20;

async function endToEnd(hostOptions) {
  const host = await createHost({ dir: QUEUE_BUILD, cacheDir: WFN_CACHE_DIR, log: silentSink, executors: 1, ...hostOptions });
  try {
    const started = performance.now();
    let next = 0;
    await Promise.all(
      Array.from({ length: SENDERS }, async () => {
        while (next < MESSAGES) {
          next++;
          await host.queues.send("jobs", `message ${next}`);
        }
      }),
    );
    const sentMs = performance.now() - started;
    for (;;) {
      const jobs = (await host.queues.stats()).find((q) => q.name === "jobs");
      if (jobs.visible === 0 && jobs.inFlight === 0) break;
      await new Promise((resolve) => setTimeout(resolve, 20));
    }
    const doneMs = performance.now() - started;
    return { sendPerS: MESSAGES / (sentMs / 1000), endToEndPerS: MESSAGES / (doneMs / 1000) };
  } finally {
    await host.close();
  }
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

const result = { messages: MESSAGES, senders: SENDERS, directMessages: DIRECT, stores: {} };
const scratch = await mkdtemp(join(tmpdir(), "wfn-bench-store-"));
let postgres;
try {
  const dataDir = join(scratch, "host");
  result.stores.sqlite = { label: "SQLite (on disk)", ...(await endToEnd({ dataDir })) };
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
    result.stores.postgres = { label: "PostgreSQL (local, fsync off)", ...(await endToEnd({ store: await postgres.database("host") })) };
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
