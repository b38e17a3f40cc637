// Builds what the benchmarks run, with the real tools: the bench project
// (`wfn build bench/apps/hello`, and hello-qjs), the echo and spin fixtures (into
// bench/.cache/build, leaving test/ to the test suite) and the jco serve
// peer's component. Builds are cached by content, so a second run is quick.
// The bench project's serve state is cleared first. A wfn build failure
// stops the run; a peer's failure only marks it unavailable.
import { rm } from "node:fs/promises";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { startProcess } from "./lib/process.mjs";
import { HELLO_APP, HELLO_QJS_APP, IO_APP, QUEUE_APP, ROOT, SCRATCH, WFN_CLI } from "./lib/paths.mjs";

const JCO_BUILD = fileURLToPath(new URL("./peers/jco/build.mjs", import.meta.url));

/** Runs a command to completion; resolves with its output, rejects with it on failure. */
async function run(args, what) {
  const proc = startProcess(process.execPath, args, { cwd: ROOT });
  const { code, signal } = await proc.exited;
  if (code !== 0) throw new Error(`${what} failed (${signal ?? `exit code ${code}`}):\n${proc.output().slice(-2000)}`);
  return proc.output();
}

export async function prepare({ log }) {
  // wfn serve keeps host state (async invocations...) in <project>/.wfn/data: start the bench project from none.
  await rm(join(HELLO_APP, ".wfn", "data"), { recursive: true, force: true });
  await rm(join(IO_APP, ".wfn", "data"), { recursive: true, force: true });
  log("  wfn build bench/apps/hello");
  await run([WFN_CLI, "build", HELLO_APP], "wfn build bench/apps/hello");
  log("  wfn build bench/apps/hello-qjs");
  await run([WFN_CLI, "build", HELLO_QJS_APP], "wfn build bench/apps/hello-qjs");
  log("  wfn build bench/apps/io");
  await run([WFN_CLI, "build", IO_APP], "wfn build bench/apps/io");
  log("  wfn build bench/apps/queue");
  await run([WFN_CLI, "build", QUEUE_APP], "wfn build bench/apps/queue");
  log("  wfn build test/fixtures/app --only echo");
  await run([WFN_CLI, "build", join(ROOT, "test", "fixtures", "app"), "--only", "echo", "--out", join(SCRATCH, "build", "app")], "building the echo fixture");
  log("  wfn build test/fixtures/hostile --only spin");
  await run([WFN_CLI, "build", join(ROOT, "test", "fixtures", "hostile"), "--only", "spin", "--out", join(SCRATCH, "build", "hostile")], "building the spin fixture");
  const built = {};
  log("  wfn build examples/c-hello (a wasi:http component in C)");
  try {
    await run([WFN_CLI, "build", join(ROOT, "examples", "c-hello"), "--out", join(SCRATCH, "build", "c-hello")], "building the C example");
  } catch (error) {
    log(`  (the C rows will be left out: ${error.message.split("\n")[0]})`);
  }
  log("  componentize-js: the jco serve peer's wasi:http component");
  try {
    const output = await run([JCO_BUILD], "componentizing the jco serve peer");
    built.jcoComponent = /^component: (.+)$/m.exec(output)?.[1];
    if (built.jcoComponent === undefined) throw new Error(`no component path in its output: ${output.slice(-500)}`);
  } catch (error) {
    built.jcoError = error.message;
    log(`  (jco serve will be reported as not available: ${error.message.split("\n")[0]})`);
  }
  return built;
}
