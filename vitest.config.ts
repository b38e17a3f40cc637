import { defineConfig } from "vitest/config";

import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";

// WFN_STATE_DIR: the local admin keys `wfn serve` writes go to a folder of this run's, not the user's
// ~/.local/state (where a key left by a killed host would be found by a later host on the same port).
const env = { WFN_CACHE_DIR: new URL("./.wfn/cache", import.meta.url).pathname, WFN_STATE_DIR: mkdtempSync(join(tmpdir(), "wfn-test-state-")) };

// `npm run test:main-accepts` runs the e2e files again with the main thread accepting connections;
// those about the CLI, the build, the glue and npm packages do not depend on that, and run in the first pass only.
const ACCEPT_INDEPENDENT = ["test/cli.test.ts", "test/install.test.ts", "test/dev.test.ts", "test/harness.test.ts", "test/glue.test.ts", "test/compat.test.ts"];
const secondPass = process.env.WFN_TEST_PASS === "main-accepts";

export default defineConfig({
  test: {
    testTimeout: 60_000,
    hookTimeout: 180_000,
    teardownTimeout: 30_000,
    // Tests start real hosts with real worker threads; two files at a time keeps a 2-core machine responsive.
    maxWorkers: 2,
    // Tests run in a new order every run, so none can lean on the one before it (a scenario
    // written as ordered steps says so with `{ shuffle: false }`). The seed is printed at the
    // start; `npx vitest run --sequence.seed=<seed>` repeats a failing order.
    sequence: { shuffle: { files: false, tests: true } },
    projects: [
      // The fast layer: modules on their own (a fake executor, fake timers), no built component, no host. Seconds.
      { extends: true, test: { name: "unit", include: ["test/unit/**/*.test.ts"], env } },
      // Real components built by `wfn build` (once per run, globalSetup), real hosts, real HTTP over loopback.
      { extends: true, test: { name: "e2e", include: ["test/**/*.test.ts"], exclude: ["test/unit/**", ...(secondPass ? ACCEPT_INDEPENDENT : [])], globalSetup: ["test/setup/build-fixtures.ts"], env } },
    ],
  },
});
