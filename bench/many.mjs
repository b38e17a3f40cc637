// Many functions on one host: `count` distinct functions deployed to one data
// directory (examples/c-hello's component, each copy's greeting patched to
// its own id, so no two share a component), none kept warm. A fresh
// `wfn serve --data-dir` then starts on them: the time to its banner, its
// RSS, the admin listing, and cold requests to functions picked at random,
// one at a time (each the first request its function sees).
//
// The data directory is made once per count and component (under
// bench/.cache/many/), by deploying through an embedded host; later runs reuse it.
import { createHash, randomBytes } from "node:crypto";
import { access, mkdir, mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { createHost, readArtifact } from "../runtime/dist/index.js";
import { get } from "./lib/http.mjs";
import { C_HELLO_BUILD, SCRATCH, WFN_CACHE_DIR, WFN_CLI } from "./lib/paths.mjs";
import { sampleTree } from "./lib/proc-stat.mjs";
import { startProcess } from "./lib/process.mjs";
import { summarize } from "./lib/stats.mjs";

const MB = 2 ** 20;
/** The greeting's six bytes that each copy replaces with its id (f00000 …), so that sizes and offsets stay the same. */
const MARK = "from C";
const BATCH = 100;

const id = (i) => `f${String(i).padStart(5, "0")}`;

/** The c-hello component with its greeting naming copy `i`. */
function variant(bytes, at, i) {
  const copy = new Uint8Array(bytes); // a copy (a Buffer's slice() would be a view)
  copy.set(new TextEncoder().encode(id(i)), at);
  return copy;
}

/** A data directory holding `count` deployed copies of c-hello, made once. */
async function dataDirFor(count, log) {
  const base = await readArtifact(C_HELLO_BUILD);
  const at = Buffer.from(base.component.buffer, base.component.byteOffset, base.component.byteLength).indexOf(MARK);
  if (at < 0) throw new Error(`no "from C" in ${C_HELLO_BUILD}/component.wasm to make copies of it`);
  const key = createHash("sha256").update(base.component).update(String(count)).digest("hex").slice(0, 12);
  const dir = join(SCRATCH, "many", `${count}-${key}`);
  const done = join(dir, "deployed");
  try {
    await access(done);
    return dir;
  } catch {
    // not made yet
  }
  await rm(dir, { recursive: true, force: true });
  await mkdir(dir, { recursive: true });
  const started = performance.now();
  log(`  deploying ${count} functions into ${dir} (once; later runs reuse it)`);
  const host = await createHost({ dataDir: join(dir, "data"), cacheDir: WFN_CACHE_DIR, maxPreparedMB: 64, log: () => {} });
  try {
    for (let first = 0; first < count; first += BATCH) {
      const batch = [];
      for (let i = first; i < Math.min(count, first + BATCH); i++) {
        const component = variant(base.component, at, i);
        const sha256 = createHash("sha256").update(component).digest("hex");
        const config = { ...base.manifest.config, routes: [`/f/${i}/*`], minInstances: 0 };
        batch.push({ origin: "bench", component, manifest: { ...base.manifest, name: id(i), component: { ...base.manifest.component, sha256 }, config } });
      }
      await host.deployApp(batch);
      if ((first / BATCH) % 10 === 9) log(`    ${first + BATCH} deployed (${((performance.now() - started) / 1000).toFixed(0)} s)`);
    }
  } finally {
    await host.close();
  }
  await writeFile(done, `${count}\n`);
  return dir;
}

export async function runMany({ count, requests, log }) {
  const dir = await dataDirFor(count, log);
  const cwd = await mkdtemp(join(tmpdir(), "wfn-bench-many-"));
  const key = randomBytes(24).toString("hex");
  const started = performance.now();
  let startMs;
  let banner;
  const server = startProcess(process.execPath, [WFN_CLI, "serve", "--no-build", "--port", "0", "--data-dir", join(dir, "data"), "--admin-key", key], {
    cwd,
    env: { WFN_CACHE_DIR },
    onOutput: (text) => {
      const url = /on (http:\/\/127\.0\.0\.1:\d+)/.exec(text)?.[1];
      if (url !== undefined && banner === undefined) {
        startMs = performance.now() - started;
        banner = url;
      }
    },
  });
  try {
    while (banner === undefined) {
      if (server.done) throw new Error(`wfn serve exited: ${server.output().slice(-600)}`);
      if (performance.now() - started > 300_000) throw new Error("wfn serve did not start within 300 s");
      await new Promise((resolve) => setTimeout(resolve, 20));
    }
    const startedRssMB = sampleTree(server.pid).rssBytes / MB;
    const listed = performance.now();
    const listing = await fetch(`${banner}/_wfn/functions`, { headers: { authorization: `Bearer ${key}` } });
    const { functions } = await listing.json();
    const listMs = performance.now() - listed;
    const listedCount = functions.length;
    // Functions picked at random, each asked once: every request is its function's first.
    const picked = new Set();
    while (picked.size < Math.min(requests, count)) picked.add(Math.floor(Math.random() * count));
    const latencies = [];
    for (const i of picked) {
      const sent = performance.now();
      const response = await get(`${banner}/f/${i}/`, 30_000);
      latencies.push(performance.now() - sent);
      if (response.status !== 200 || !response.body.includes(`hello ${id(i)}`)) throw new Error(`GET /f/${i}/ answered ${response.status}: ${response.body.slice(0, 200)}`);
    }
    const cold = summarize(latencies);
    const afterRssMB = sampleTree(server.pid).rssBytes / MB;
    log(
      `  ${count} functions: wfn serve up in ${startMs.toFixed(0)} ms, RSS ${startedRssMB.toFixed(0)} MB; listing ${listedCount} in ${listMs.toFixed(0)} ms; ` +
        `${latencies.length} cold requests to random functions p50 ${cold.p50.toFixed(1)} ms, p99 ${cold.p99.toFixed(1)} ms (the first ${latencies[0].toFixed(1)} ms); RSS after ${afterRssMB.toFixed(0)} MB`,
    );
    return { functions: count, startMs, startedRssMB, listMs, listed: listedCount, requests: latencies.length, coldP50Ms: cold.p50, coldP99Ms: cold.p99, coldMaxMs: cold.max, firstMs: latencies[0], afterRssMB };
  } finally {
    await server.stop();
    await rm(cwd, { recursive: true, force: true });
  }
}
