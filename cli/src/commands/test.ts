// wfn test [dir] [-- vitest options] — runs a project's tests with vitest,
// with wfn's test harness (@wfn/cli/testing) importable whether or not the
// project has installed wfn.
import { spawn } from "node:child_process";
import { mkdir, writeFile } from "node:fs/promises";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { parseArgs } from "node:util";
import { loadProject } from "../project/project.js";

export const testHelp = `Usage: wfn test [dir] [options] [-- vitest options]

Runs the tests of the project in [dir] (default: .) with vitest: files named
*.test.ts / *.test.js outside node_modules and .wfn. In a test,
\`import { loadFunctions } from "@wfn/cli/testing"\` builds the project (cached:
only changed functions are componentized again) and serves it on an
in-process host: fetch(path), invoke(name, payload), logs(name), close().
The exit status is vitest's: 0 when every test passed.

Options:
  --watch           run again when files change
  -h, --help        show this help

Anything after \`--\` goes to vitest as it is (e.g. \`wfn test -- -t hello\`).`;

export async function testCommand(args: string[]): Promise<number> {
  const split = args.indexOf("--");
  const own = split < 0 ? args : args.slice(0, split);
  const passed = split < 0 ? [] : args.slice(split + 1);
  const { values, positionals } = parseArgs({ args: own, allowPositionals: true, options: { watch: { type: "boolean", default: false } } });
  const project = await loadProject(positionals[0] ?? ".");
  const config = join(project.dir, ".wfn", "tmp", "vitest.config.mjs");
  await mkdir(dirname(config), { recursive: true });
  await writeFile(config, vitestConfig(project.dir));
  const vitest = join(dirname(fileURLToPath(import.meta.resolve("vitest/package.json"))), "vitest.mjs");
  const child = spawn(process.execPath, [vitest, values.watch ? "watch" : "run", "--config", config, "--root", project.dir, ...passed], { stdio: "inherit" });
  return new Promise((done, fail) => {
    child.once("error", fail);
    child.once("exit", (code, signal) => done(code ?? (signal === null ? 1 : 128)));
  });
}

/** The vitest configuration `wfn test` runs with: the project's tests, and wfn's harness and vitest resolvable from them. */
function vitestConfig(projectDir: string): string {
  const config = {
    resolve: {
      alias: {
        "@wfn/cli/testing": fileURLToPath(new URL("../testing.js", import.meta.url)),
        vitest: fileURLToPath(import.meta.resolve("vitest")),
      },
    },
    test: {
      root: resolve(projectDir),
      include: ["**/*.test.{ts,mts,js,mjs}"],
      exclude: ["**/node_modules/**", "**/.wfn/**"],
      // Building a function the cache has not seen takes seconds.
      hookTimeout: 180_000,
      testTimeout: 30_000,
    },
  };
  return `// Written by wfn test.\nexport default ${JSON.stringify(config, null, 2)};\n`;
}
