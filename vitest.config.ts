import { defineConfig } from "vitest/config";

export default defineConfig({
  test: {
    include: ["test/**/*.test.ts"],
    globalSetup: ["test/setup/build-fixtures.ts"],
    testTimeout: 60_000,
    hookTimeout: 180_000,
    teardownTimeout: 30_000,
    // Tests start real hosts with real worker threads; two files at a time keeps a 2-core machine responsive.
    maxWorkers: 2,
    env: { WFN_CACHE_DIR: new URL("./.wfn/cache", import.meta.url).pathname },
  },
});
