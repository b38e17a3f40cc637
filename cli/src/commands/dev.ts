// wfn dev [dir] — serve, watch the sources, rebuild only what changed and
// swap it in without dropping in-flight requests. A failed build is printed
// and the previous version keeps serving.
import { join, relative, resolve } from "node:path";
import { isDeepStrictEqual, parseArgs } from "node:util";
import type { Host } from "@wfn/runtime";
import { DEFAULT_OUT_DIR, functionInputs } from "../build/build.js";
import { PROJECT_FILE, loadProject, type Project } from "../project/project.js";
import { watchTree } from "../project/watch.js";
import { cyan, dim, formatMs, green, reportError, say } from "../ui.js";
import { buildWithProgress } from "./build.js";
import { buildStale, serveOptions, serveSettings, startServing, untilSignal } from "./serve.js";

export const devHelp = `Usage: wfn dev [dir] [options]

Like \`wfn serve\`, and watches the project: when a source file changes
(however the editor saves it: in place, or a temporary file renamed over
it), is added or is deleted, only the functions that use it are rebuilt and
swapped in; requests in flight finish on the old version. If a build fails, the error is printed and the
previous version keeps serving.

Options: the same as \`wfn serve\` (--port, --host, --executors, --data-dir,
--log-format). Changes to \`queues\` in wfn.json need a restart.`;

const IGNORED = /(^|\/)(\.wfn|node_modules|\.git)(\/|$)/;
const DEBOUNCE_MS = 150;

export async function devCommand(args: string[]): Promise<number> {
  const { values, positionals } = parseArgs({ args, allowPositionals: true, allowNegative: true, options: serveOptions });
  const settings = await serveSettings(values);
  let project = await loadProject(positionals[0] ?? ".");
  await buildStale(project);
  const { host, server } = await startServing([project], settings);

  const changed = new Set<string>();
  let timer: NodeJS.Timeout | undefined;
  let running: Promise<void> = Promise.resolve();
  // A watch per directory: it sees files an editor replaces by a rename, as well as plain writes, new and deleted files.
  const watcher = watchTree(project.dir, (path) => IGNORED.test(path), (file) => {
    changed.add(file);
    clearTimeout(timer);
    timer = setTimeout(() => {
      const batch = [...changed];
      changed.clear();
      running = running.then(async () => {
        try {
          project = await rebuild(project, batch, host);
        } catch (error) {
          reportError(error);
          say(dim("the previous version keeps serving"));
        }
      });
    }, DEBOUNCE_MS);
  });

  await watcher.ready;
  say(dim(`watching ${relative(process.cwd(), project.dir) || "."} for changes`));
  await untilSignal();
  watcher.close();
  clearTimeout(timer);
  await running;
  say(dim("stopping: letting in-flight requests finish..."));
  await server.close();
  return 0;
}

/** Rebuilds and redeploys the functions affected by `files`; returns the (possibly reloaded) project. */
async function rebuild(project: Project, files: string[], host: Host): Promise<Project> {
  const outDir = resolve(project.dir, DEFAULT_OUT_DIR);
  let next = project;
  const affected = new Set<string>();
  if (files.includes(PROJECT_FILE)) {
    next = await loadProject(project.dir);
    for (const name of project.functions.keys()) {
      if (!next.functions.has(name)) {
        await host.undeploy(name);
        say(`${cyan("wfn")} removed ${name}`);
      }
    }
    if (!isDeepStrictEqual(project.queues, next.queues)) say(dim("the queues in wfn.json changed: restart `wfn dev` to apply them"));
    for (const [name, config] of next.functions) {
      if (JSON.stringify(project.functions.get(name)) !== JSON.stringify(config)) affected.add(name);
    }
  }
  const used = new Set<string>([PROJECT_FILE]);
  for (const name of next.functions.keys()) {
    const inputs = await functionInputs(outDir, name);
    for (const input of inputs) used.add(input);
    if (inputs.length === 0 || files.some((file) => inputs.includes(file))) affected.add(name);
  }
  if (affected.size === 0) return next;
  // The files that a function uses (an editor's temporary files are not among them).
  const shown = files.filter((file) => used.has(file));
  say(dim(`changed: ${(shown.length > 0 ? shown : files).join(", ")}`));
  const started = performance.now();
  const built = await buildWithProgress(next, { only: [...affected] });
  for (const fn of built) {
    await host.deploy(join(outDir, fn.name));
    // From the save to the new code serving: the build (a cache hit when only formatting changed) and the swap.
    say(`${green("reloaded")} ${fn.name} in ${formatMs(performance.now() - started)} ${dim(`(sha256 ${fn.manifest.component.sha256.slice(0, 12)})`)}`);
  }
  return next;
}
