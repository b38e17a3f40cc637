// Where things are: the checkout, the CLI, the bench's own scratch folder,
// and the build outputs every benchmark reads.
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { defaultCacheDir } from "../../runtime/dist/index.js";

export const ROOT = fileURLToPath(new URL("../..", import.meta.url));
export const BENCH = join(ROOT, "bench");
/** Scratch space (gitignored): built peer components, build outputs of fixtures. */
export const SCRATCH = join(BENCH, ".cache");
export const RESULTS = join(BENCH, "results");
export const WFN_CLI = join(ROOT, "cli", "bin", "wfn.js");

/** wfn's cache (components and transpiled glue), as the runtime resolves it; run.mjs pins it for every child. */
export const WFN_CACHE_DIR = defaultCacheDir();

/** The bench project: `hello` (GET / → {"hello":"world"}), `trivial` (invoke → constant) and `busy` (CPU-bound invoke, interrupt.mjs). */
export const HELLO_APP = join(BENCH, "apps", "hello");
export const HELLO_BUILD = join(HELLO_APP, ".wfn", "build");
/** The same hello on QuickJS, a project of its own (`wfn serve bench/apps/hello` holds StarlingMonkey functions only). */
export const HELLO_QJS_APP = join(BENCH, "apps", "hello-qjs");
export const HELLO_QJS_BUILD = join(HELLO_QJS_APP, ".wfn", "build");
export const EXAMPLE_HELLO = join(ROOT, "examples", "hello");
/** The I/O bench project: `io` (waits on ?upstream=), `healthy`, and `spin` (a runaway). */
export const IO_APP = join(BENCH, "apps", "io");
export const QUEUE_APP = join(BENCH, "apps", "queue");
export const QUEUE_BUILD = join(QUEUE_APP, ".wfn", "build");

/** Fixtures built into the scratch folder (not into test/, which the test suite owns). */
export const ECHO_BUILD = join(SCRATCH, "build", "app", "echo");
export const SPIN_BUILD = join(SCRATCH, "build", "hostile", "spin");
/** examples/c-hello: a wasi:http/proxy component built from C (absent when the machine has no clang). */
export const C_HELLO_BUILD = join(SCRATCH, "build", "c-hello", "c-hello");
