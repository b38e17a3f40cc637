// Density: how many warm instances of the hello function fit in a GB of host
// memory. Each point is a fresh host process with n warm instances
// (density-host.mjs); the slope of RSS over n is the memory one more warm
// instance costs.
import { existsSync } from "node:fs";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { runScript } from "./lib/child.mjs";
import { C_HELLO_BUILD, HELLO_BUILD, HELLO_QJS_BUILD } from "./lib/paths.mjs";

const HOST = fileURLToPath(new URL("./density-host.mjs", import.meta.url));
const MB = 2 ** 20;

/** Least-squares slope and intercept of y over x. */
function fit(points) {
  const n = points.length;
  const mx = points.reduce((s, p) => s + p.x, 0) / n;
  const my = points.reduce((s, p) => s + p.y, 0) / n;
  const slope = points.reduce((s, p) => s + (p.x - mx) * (p.y - my), 0) / points.reduce((s, p) => s + (p.x - mx) ** 2, 0);
  return { slope, intercept: my - slope * mx };
}

/** The functions measured, one engine each: [label, build folder, path]. */
const ENGINES = [
  ["StarlingMonkey", join(HELLO_BUILD, "hello"), "/"],
  ["QuickJS", join(HELLO_QJS_BUILD, "hello-qjs"), "/"],
  ["C (wasi:http)", C_HELLO_BUILD, "/c/"],
];

async function engineDensity(label, build, path, counts, log) {
  // A first, discarded run fills the transpile cache for this build: every measured point then loads the same way.
  await runScript(HOST, ["0", build, path], { nodeArgs: ["--expose-gc"], timeoutMs: 180_000 });
  const points = [];
  for (const n of counts) {
    const point = await runScript(HOST, [String(n), build, path], { nodeArgs: ["--expose-gc"], timeoutMs: 180_000 });
    log(`  ${label}, ${n} warm instances: host RSS ${(point.rssBytes / MB).toFixed(0)} MB (warmed in ${point.warmMs.toFixed(0)} ms)`);
    points.push(point);
  }
  const { slope, intercept } = fit(points.map((p) => ({ x: p.instances, y: p.rssBytes })));
  return {
    engine: label,
    points: points.map((p) => ({ instances: p.instances, rssMB: p.rssBytes / MB, warmMs: p.warmMs })),
    baseRssMB: intercept / MB,
    perInstanceMB: slope / MB,
    instancesPerGB: slope > 0 ? 1024 / (slope / MB) : undefined,
  };
}

export async function runDensity({ counts, log }) {
  const engines = [];
  for (const [label, build, path] of ENGINES) {
    if (!existsSync(build)) {
      log(`  ${label}: not built (${build})`);
      continue;
    }
    engines.push(await engineDensity(label, build, path, counts, log));
  }
  return { engines };
}
