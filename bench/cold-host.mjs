// One cold-path measurement in a fresh process with an embedded host (so no
// compiled module or imported glue survives from an earlier run):
//   deploy <warm|cold>  createHost, then host.deploy(the hello build) and time
//                       until the first host.fetch(GET /) answers 200; "cold"
//                       uses an empty transpile cache.
//   burst <n>           hello with no warm instances (minInstances 0) served
//                       over HTTP; n concurrent first requests, their latencies.
// Sends {result} over IPC (or prints JSON when run by hand).
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { createHost, readArtifact, serve } from "../runtime/dist/index.js";
import { get } from "./lib/http.mjs";
import { HELLO_BUILD, WFN_CACHE_DIR } from "./lib/paths.mjs";
import { summarize } from "./lib/stats.mjs";

const HELLO = join(HELLO_BUILD, "hello");
const settle = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

async function deploy(cache) {
  const cacheDir = cache === "cold" ? await mkdtemp(join(tmpdir(), "wfn-bench-cold-")) : WFN_CACHE_DIR;
  const host = await createHost({ cacheDir, log: () => {} });
  try {
    await settle(300); // a host that is already up: executors started
    const started = performance.now();
    await host.deploy(HELLO);
    const deployedMs = performance.now() - started;
    const response = await host.fetch(new Request("http://localhost/"));
    const body = await response.text();
    const totalMs = performance.now() - started;
    if (response.status !== 200) throw new Error(`GET / answered ${response.status}: ${body.slice(0, 300)}`);
    return { cache, deployMs: deployedMs, firstResponseMs: totalMs - deployedMs, totalMs };
  } finally {
    await host.close();
    if (cache === "cold") await rm(cacheDir, { recursive: true, force: true });
  }
}

async function burst(n) {
  const artifact = await readArtifact(HELLO);
  const config = { ...artifact.manifest.config, minInstances: 0, maxConcurrency: Math.max(n, artifact.manifest.config.maxConcurrency) };
  const host = await createHost({ functions: [{ ...artifact, manifest: { ...artifact.manifest, config } }], cacheDir: WFN_CACHE_DIR, log: () => {} });
  const server = await serve(host, { port: 0 });
  try {
    await settle(300);
    const before = host.functions()[0].instances.total;
    const latencies = await Promise.all(
      Array.from({ length: n }, async () => {
        const started = performance.now();
        const response = await get(`${server.url}/`, 30_000);
        if (response.status !== 200) throw new Error(`GET / answered ${response.status}: ${response.body.slice(0, 300)}`);
        return performance.now() - started;
      }),
    );
    const { p50, p99, max } = summarize(latencies);
    return { requests: n, instancesBefore: before, instancesAfter: host.functions()[0].instances.total, p50Ms: p50, p99Ms: p99, maxMs: max };
  } finally {
    await server.close();
    await host.close();
  }
}

const [mode, arg] = process.argv.slice(2);
const result = mode === "deploy" ? await deploy(arg) : mode === "burst" ? await burst(Number(arg)) : undefined;
if (result === undefined) throw new Error("usage: node bench/cold-host.mjs deploy <warm|cold> | burst <n>");
if (process.send) process.send({ result });
else console.log(JSON.stringify(result, null, 2));
