// One density point, in a fresh process: an embedded host with a hello
// function deployed with `minInstances` n (all warm and idle), and the
// process's resident memory once they are up. Sends {result} over IPC.
// Usage: node bench/density-host.mjs <n> [<function build folder> <path to GET>]
// (default: bench/apps/hello's hello, on StarlingMonkey, at /)
import { join } from "node:path";
import { createHost, readArtifact } from "../runtime/dist/index.js";
import { HELLO_BUILD, WFN_CACHE_DIR } from "./lib/paths.mjs";

const settle = (ms) => new Promise((resolve) => setTimeout(resolve, ms));
const n = Number(process.argv[2]);
const build = process.argv[3] ?? join(HELLO_BUILD, "hello");
const path = process.argv[4] ?? "/";
const artifact = await readArtifact(build);
const config = { ...artifact.manifest.config, minInstances: n, maxConcurrency: Math.max(n, 1) };
const host = await createHost({ cacheDir: WFN_CACHE_DIR, maxInstances: Math.max(n, 256), log: () => {} });
try {
  const started = performance.now();
  await host.deploy({ ...artifact, manifest: { ...artifact.manifest, config } });
  const warmMs = performance.now() - started;
  const { instances } = host.functions()[0];
  if (instances.idle !== n) throw new Error(`expected ${n} idle instances, the host reports ${JSON.stringify(instances)}`);
  // One call on some instance, so the measure is of instances that have served.
  const response = await host.fetch(new Request(`http://localhost${path}`));
  if (response.status !== 200) throw new Error(`GET ${path} answered ${response.status}`);
  globalThis.gc?.();
  await settle(500);
  const result = { instances: n, rssBytes: process.memoryUsage().rss, warmMs };
  if (process.send) process.send({ result });
  else console.log(JSON.stringify(result));
} finally {
  await host.close();
}
