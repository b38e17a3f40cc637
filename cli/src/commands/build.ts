// wfn build [dir] [--out D] [--no-typecheck]
import { parseArgs } from "node:util";
import { resolve } from "node:path";
import { buildProject, type BuildOptions, type BuildProgress, type BuiltFunction } from "../build/build.js";
import { loadProject, selectFunctions, type Project } from "../project/project.js";
import { cyan, dim, formatBytes, formatMs, green, out, say, shown } from "../ui.js";

export const buildHelp = `Usage: wfn build [dir] [options]

Bundles each function of the project in [dir] (default: .), componentizes it
into a WebAssembly component and writes <out>/<function>/component.wasm and
manifest.json.

Options:
  --out <dir>        output folder (default: <dir>/.wfn/build)
  --only <a,b>       build only these functions (repeatable)
  --no-typecheck     skip the TypeScript type check
  --no-precheck      skip running each module's top level in Node.js before
                     componentizing (it stops at once, at your line, on what
                     would fail there)
  --json             print what was built as JSON on stdout (name, dir,
                     component sha256 and size, world, engine, cached);
                     progress stays on stderr
  -h, --help         show this help`;

export async function buildCommand(args: string[]): Promise<number> {
  const { values, positionals } = parseArgs({
    args,
    allowPositionals: true,
    allowNegative: true,
    options: { out: { type: "string" }, only: { type: "string", multiple: true }, typecheck: { type: "boolean", default: true }, precheck: { type: "boolean", default: true }, json: { type: "boolean", default: false } },
  });
  const dir = positionals[0] ?? ".";
  const project = await loadProject(dir);
  const built = await buildWithProgress(project, {
    ...(values.out === undefined ? {} : { outDir: resolve(values.out) }),
    ...(values.only === undefined ? {} : { only: selectFunctions(project, values.only) }),
    typecheck: values.typecheck,
    precheck: values.precheck,
  });
  if (values.json) out(JSON.stringify(built.map(describeBuilt), null, 2));
  return 0;
}

/** One built function as `wfn build --json` prints it. */
function describeBuilt(fn: BuiltFunction): Record<string, unknown> {
  const { manifest } = fn;
  return {
    name: fn.name,
    dir: fn.dir,
    component: { sha256: manifest.component.sha256, size: manifest.component.size },
    world: manifest.world,
    engine: manifest.engine,
    bundleBytes: fn.bundleBytes,
    cached: fn.cached,
  };
}

/** Builds with progress lines on stderr; shared by build, serve, dev and invoke. */
export async function buildWithProgress(project: Project, options: BuildOptions = {}): Promise<BuiltFunction[]> {
  const started = performance.now();
  const width = Math.max(...[...project.functions.keys()].map((name) => name.length));
  say(`${cyan("wfn build")} ${shown(project.dir)}`);
  const progress = reporter(width);
  let built: BuiltFunction[];
  try {
    built = await buildProject(project, { ...options, onProgress: progress.report });
  } finally {
    progress.stop();
  }
  say(`${green("built")} ${built.length} function${built.length === 1 ? "" : "s"} into ${shown(resolve(project.dir, options.outDir ?? ".wfn/build"))} in ${formatMs(performance.now() - started)}`);
  return built;
}

/** How often the elapsed time of a step in progress is redrawn on a terminal, in ms. */
const TICK_MS = 200;

/**
 * Progress lines on stderr. On a terminal, the step in progress (componentizing
 * takes seconds) shows its elapsed time, redrawn in place; elsewhere (CI, a
 * pipe) each step is one plain line.
 */
function reporter(width: number): { report(event: BuildProgress): void; stop(): void } {
  let open: { line: string; since: number; timer: NodeJS.Timeout } | undefined;
  const close = () => {
    if (open === undefined) return;
    clearInterval(open.timer);
    process.stderr.write(`\r\u001b[2K${open.line}\n`);
    open = undefined;
  };
  const report = (event: BuildProgress) => {
    close();
    switch (event.kind) {
      case "typecheck":
        if (event.files > 0) say(dim(`  type-checking ${event.files} entr${event.files === 1 ? "y" : "ies"}`));
        break;
      case "start":
        break;
      case "bundled": {
        const line = dim(`  ${event.name.padEnd(width)}  bundled ${formatBytes(event.bytes)} in ${formatMs(event.ms)}, componentizing...`);
        if (!process.stderr.isTTY) return say(line);
        process.stderr.write(line);
        const since = performance.now();
        open = { line, since, timer: setInterval(() => process.stderr.write(`\r\u001b[2K${line} ${dim(formatMs(performance.now() - since))}`), TICK_MS) };
        break;
      }
      case "done":
        doneLine(event, width);
    }
  };
  return { report, stop: close };
}

function doneLine(event: Extract<BuildProgress, { kind: "done" }>, width: number): void {
  const { manifest } = event;
  const how = event.cached ? "from cache" : `in ${formatMs(event.componentizeMs)}`;
  say(`  ${event.name.padEnd(width)}  component ${formatBytes(manifest.component.size)} ${how}  ${dim(`sha256 ${manifest.component.sha256.slice(0, 12)}`)}`);
}
