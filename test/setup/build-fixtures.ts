// Builds every fixture project and example once per test run, with the real
// `wfn build` command. Components are cached by content hash in .wfn/cache,
// so a second run only re-bundles.
import { execFile } from "node:child_process";
import { promisify } from "node:util";
import { join } from "node:path";
import type { TestProject } from "vitest/node";
import { CACHE_DIR, ROOT, WFN } from "../helpers/paths.js";

const run = promisify(execFile);

export const PROJECTS = [
  "test/fixtures/app",
  "test/fixtures/hostile",
  "test/fixtures/lambda",
  "test/fixtures/triggers",
  "test/fixtures/schedules",
  "test/fixtures/kv",
  "test/fixtures/quickjs",
  "test/fixtures/wasi-http",
  "test/fixtures/compat",
  "examples/hello",
  "examples/hono-app",
  "examples/lambda-api",
  "examples/lambda-json",
  "examples/queue-worker",
  "examples/cron-report",
  "examples/storage-indexer",
  "examples/c-hello",
];

export default async function setup(project: TestProject): Promise<void> {
  const started = performance.now();
  // The wasi:http components come from other toolchains (componentize-js, wasm-tools) before `wfn build` packages them.
  try {
    await run(process.execPath, [join(ROOT, "test", "setup", "wasi-http.mjs"), join(ROOT, "test", "fixtures", "wasi-http"), CACHE_DIR], { maxBuffer: 1 << 24 });
  } catch (error) {
    const { stderr } = error as { stderr?: string };
    throw new Error(`building the wasi:http components for the tests failed:\n${stderr ?? String(error)}`);
  }
  for (const dir of PROJECTS) {
    try {
      await run(process.execPath, [WFN, "build", join(ROOT, dir)], { env: { ...process.env, WFN_CACHE_DIR: CACHE_DIR }, maxBuffer: 1 << 24 });
    } catch (error) {
      const { stderr } = error as { stderr?: string };
      throw new Error(`building ${dir} for the tests failed:\n${stderr ?? String(error)}`);
    }
  }
  project.provide("fixturesBuiltMs", Math.round(performance.now() - started));
}

declare module "vitest" {
  export interface ProvidedContext {
    fixturesBuiltMs: number;
  }
}
