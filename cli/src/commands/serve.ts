// wfn serve [dir...] — serve built functions over HTTP, building stale ones first.
import { access, readFile } from "node:fs/promises";
import { isDeepStrictEqual } from "node:util";
import { join, resolve } from "node:path";
import { parseArgs } from "node:util";
import { createHost, jsonSink, redactStoreUrl, serve, textSink, type Host, type LogSink, type RunningServer } from "@wfn/runtime";
import { BuildError, DEFAULT_OUT_DIR, pruneBuildDir, staleFunctions, writeAppFile } from "../build/build.js";
import { loadProject, PROJECT_FILE, type Project } from "../project/project.js";
import { bold, cyan, dim, integerOption, red, say, shown } from "../ui.js";
import { UsageError } from "../errors.js";
import { buildWithProgress } from "./build.js";
import { makeLocalKey, removeLocalKey, writeLocalKey } from "../remote/local-key.js";

export const serveHelp = `Usage: wfn serve [dir...] [options]

Serves the built functions of one or more projects (default: ., if it has a
wfn.json) over HTTP, building any function whose build is missing or older
than its sources, its configuration or the @wfn/sdk it bundled (an upgrade
rebuilds), together with everything deployed to the host's data
directory with \`wfn deploy\`. With no project, it serves only what is
deployed: a deployment target.

Options:
  --port <n>            port to listen on (default: 8787; 0 picks a free one)
  --host <address>      interface to bind (default: 127.0.0.1)
  --no-build            serve what is built, even if stale
  --data-dir <path>     where queued messages, pending asynchronous invocations
                        and schedule state are kept (default: .wfn/data in the
                        first project, else ./.wfn/data); survives restarts
                        and crashes, and keeps what \`wfn deploy\` shipped
  --store <url>         keep that state in PostgreSQL instead
                        (postgres://user:password@host:5432/database; also
                        WFN_STORE), which many hosts may share
                        (docs/scaling.md)
  --admin-key <key>     a key for the admin API under /_wfn/ (repeatable; also
                        WFN_ADMIN_KEYS, comma-separated). Without one, the
                        host makes a key for this run and writes it to
                        ~/.local/state/wfn/hosts/<port>.key (readable by you
                        only), where wfn commands on this machine find it
  --admin-key-file <f>  read admin keys from a file, one per line
  --max-connections <n> open connections at most (default: half of ulimit -n,
                        at most 10000); --max-connections-per-client <n>
                        caps those of one address (default: a quarter)
  --trust-proxy         a reverse proxy on this machine forwards requests:
                        take the client's address from X-Forwarded-For
                        (functions see it as their source IP)
  --invoke-key <key>    a key that may invoke functions with "auth": "key"
                        (repeatable; also WFN_INVOKE_KEYS)
  --executors <n>       executor threads (default: CPUs, at most 4)
  --max-prepared-mb <n> what idle functions keep prepared, in MiB (default
                        512); past it the least recently used are prepared
                        again on their next request
  --log-format <f>      text or json (default: text)
  -h, --help            show this help`;

export const serveOptions = {
  port: { type: "string", default: "8787" },
  host: { type: "string", default: "127.0.0.1" },
  build: { type: "boolean", default: true },
  executors: { type: "string" },
  "max-prepared-mb": { type: "string" },
  "data-dir": { type: "string" },
  store: { type: "string" },
  "admin-key": { type: "string", multiple: true },
  "admin-key-file": { type: "string" },
  "invoke-key": { type: "string", multiple: true },
  "trust-proxy": { type: "boolean", default: false },
  "max-connections": { type: "string" },
  "max-connections-per-client": { type: "string" },
  "log-format": { type: "string", default: "text" },
} as const;

export interface ServeSettings {
  port: number;
  hostname: string;
  executors: number | undefined;
  /** What versions with no instance keep prepared, in MiB; undefined: the host's default. */
  maxPreparedMB: number | undefined;
  /** The host's store folder; undefined: `<first project>/.wfn/data`. */
  dataDir: string | undefined;
  /** A PostgreSQL URL for the host's state instead of the data folder's SQLite store. */
  store: string | undefined;
  adminKeys: string[];
  /** Made for this run when no admin key was given (written to the local key file once the port is known). */
  localKey: string | undefined;
  invokeKeys: string[];
  trustProxy: boolean;
  maxConnections: number | undefined;
  maxConnectionsPerClient: number | undefined;
  log: LogSink;
}

/** Reads the options serve and dev share. */
export async function serveSettings(values: {
  port: string;
  host: string;
  executors?: string | undefined;
  "max-prepared-mb"?: string | undefined;
  "data-dir"?: string | undefined;
  store?: string | undefined;
  "log-format": string;
  "admin-key"?: string[] | undefined;
  "admin-key-file"?: string | undefined;
  "invoke-key"?: string[] | undefined;
  "trust-proxy"?: boolean | undefined;
  "max-connections"?: string | undefined;
  "max-connections-per-client"?: string | undefined;
}): Promise<ServeSettings> {
  const port = integerOption(values.port, "--port", 0, 65535);
  const executors = values.executors === undefined ? undefined : integerOption(values.executors, "--executors", 1, 64);
  const format = values["log-format"];
  if (format !== "text" && format !== "json") throw new UsageError(`--log-format must be "text" or "json", got "${format}"`);
  const dataDir = values["data-dir"] === undefined ? undefined : resolve(values["data-dir"]);
  const adminKeys = [...(values["admin-key"] ?? []), ...envKeys("WFN_ADMIN_KEYS")];
  if (values["admin-key-file"] !== undefined) {
    let text: string;
    try {
      text = await readFile(values["admin-key-file"], "utf8");
    } catch (error) {
      throw new UsageError(`cannot read --admin-key-file ${values["admin-key-file"]}: ${(error as Error).message}`);
    }
    adminKeys.push(...text.split(/\r?\n/).map((line) => line.trim()).filter((line) => line !== "" && !line.startsWith("#")));
  }
  const invokeKeys = [...(values["invoke-key"] ?? []), ...envKeys("WFN_INVOKE_KEYS")];
  for (const key of [...adminKeys, ...invokeKeys]) {
    if (key.length < MIN_KEY_LENGTH) throw new UsageError(`keys must be at least ${MIN_KEY_LENGTH} characters (make one with \`openssl rand -hex 32\`)`);
  }
  const localKey = adminKeys.length === 0 ? makeLocalKey() : undefined;
  return {
    port,
    hostname: values.host,
    executors,
    maxPreparedMB: values["max-prepared-mb"] === undefined ? undefined : integerOption(values["max-prepared-mb"], "--max-prepared-mb", 0, 1_048_576),
    dataDir,
    store: storeUrl(values.store ?? process.env.WFN_STORE),
    adminKeys: localKey === undefined ? adminKeys : [localKey],
    localKey,
    invokeKeys,
    trustProxy: values["trust-proxy"] === true,
    maxConnections: values["max-connections"] === undefined ? undefined : integerOption(values["max-connections"], "--max-connections", 1, 1_000_000),
    maxConnectionsPerClient:
      values["max-connections-per-client"] === undefined ? undefined : integerOption(values["max-connections-per-client"], "--max-connections-per-client", 1, 1_000_000),
    log: format === "json" ? jsonSink() : textSink(),
  };
}

const MIN_KEY_LENGTH = 16;

/** `--store` or WFN_STORE: undefined (the embedded store) when empty; otherwise a PostgreSQL URL. */
function storeUrl(value: string | undefined): string | undefined {
  if (value === undefined || value.trim() === "") return undefined;
  if (!/^postgres(ql)?:\/\//.test(value.trim())) throw new UsageError("--store (or WFN_STORE) must be a PostgreSQL URL: postgres://user:password@host:5432/database");
  return value.trim();
}

function envKeys(name: string): string[] {
  return (process.env[name] ?? "").split(",").map((key) => key.trim()).filter((key) => key !== "");
}

export async function serveCommand(args: string[]): Promise<number> {
  const { values, positionals } = parseArgs({ args, allowPositionals: true, allowNegative: true, options: serveOptions });
  const settings = await serveSettings(values);
  let projects = await loadProjects(positionals.length > 0 ? positionals : (await hasProject(".")) ? ["."] : []);
  if (values.build) {
    const skipped = new Set<Project>();
    for (const project of projects) {
      try {
        await buildStale(project);
      } catch (error) {
        // One of several projects (npm start's examples/*) needs a compiler this machine lacks: serve the others.
        if (!(error instanceof BuildError && error.missingToolchain && projects.length > 1)) throw error;
        say(`${bold("warning:")} not serving ${shown(project.dir)}: ${error.problems[0]?.message ?? error.message}`);
        skipped.add(project);
      }
    }
    projects = projects.filter((project) => !skipped.has(project));
  }
  const { host, server } = await startServing(projects, settings);
  await untilSignal();
  say(dim("stopping: letting in-flight requests finish..."));
  await server.close();
  void host;
  return 0;
}

/** Loads projects and checks that their function names do not collide. */
export async function loadProjects(dirs: string[]): Promise<Project[]> {
  const projects: Project[] = [];
  const owners = new Map<string, string>();
  const queues = new Map<string, Project>();
  for (const dir of dirs) {
    const project = await loadProject(dir);
    for (const [name, queue] of Object.entries(project.queues)) {
      const other = queues.get(name);
      if (other !== undefined && !isDeepStrictEqual(other.queues[name], queue)) {
        throw new UsageError(`queue "${name}" is declared differently in ${other.file} and ${project.file}; served projects share their queues`);
      }
      queues.set(name, project);
    }
    for (const name of project.functions.keys()) {
      const other = owners.get(name);
      if (other !== undefined) throw new UsageError(`function "${name}" is declared in both ${other} and ${project.file}; names must be unique across served projects`);
      owners.set(name, project.file);
    }
    projects.push(project);
  }
  return projects;
}

/** Rebuilds what is stale and removes outputs of functions no longer declared. */
export async function buildStale(project: Project): Promise<void> {
  const stale = await staleFunctions(project);
  if (stale.length > 0) await buildWithProgress(project, { only: stale });
  await pruneBuildDir(project);
}

export async function startServing(projects: Project[], settings: ServeSettings): Promise<{ host: Host; server: RunningServer }> {
  for (const project of projects) await writeAppFile(project);
  const dataDir = settings.dataDir ?? join(projects[0]?.dir ?? process.cwd(), ".wfn", "data");
  const host = await createHost({
    dir: projects.map((project) => join(project.dir, DEFAULT_OUT_DIR)),
    dataDir,
    ...(settings.store === undefined ? {} : { store: settings.store }),
    adminKeys: settings.adminKeys,
    invokeKeys: settings.invokeKeys,
    trustProxy: settings.trustProxy,
    log: settings.log,
    ...(settings.executors === undefined ? {} : { executors: settings.executors }),
    ...(settings.maxPreparedMB === undefined ? {} : { maxPreparedMB: settings.maxPreparedMB }),
  });
  let server: RunningServer;
  try {
    server = await serve(host, {
      port: settings.port,
      hostname: settings.hostname,
      ...(settings.maxConnections === undefined ? {} : { maxConnections: settings.maxConnections }),
      ...(settings.maxConnectionsPerClient === undefined ? {} : { maxConnectionsPerClient: settings.maxConnectionsPerClient }),
    });
  } catch (error) {
    await host.close();
    throw error;
  }
  // Everything awaited happens before the banner: a caller may stop the host as soon as it sees it.
  const { localKey } = settings;
  let keyNote = dim(`admin API (/_wfn/): needs one of ${settings.adminKeys.length} admin key(s)`);
  if (localKey !== undefined) {
    try {
      const file = await writeLocalKey(server.port, localKey);
      keyNote = dim(`admin API (/_wfn/): key for this run in ${file}; wfn commands on this machine use it (see --admin-key)`);
      const close = server.close.bind(server);
      const closeAndForget = async () => {
        await close();
        await removeLocalKey(server.port, localKey);
      };
      server = { ...server, close: closeAndForget };
    } catch (error) {
      keyNote = red(`admin API (/_wfn/): cannot write this run's key (${(error as Error).message}); give the host a key with --admin-key`);
    }
  }
  printRoutes(host, server.url);
  say(keyNote);
  say(dim(settings.store === undefined ? `state: ${dataDir} (SQLite)` : `state: ${redactStoreUrl(settings.store)} (PostgreSQL)`));
  return { host, server };
}

/** Functions (not counting failed ones, all shown) the banner lists by name. */
const LISTED_AT_START = 20;

export function printRoutes(host: Host, url: string): void {
  const functions = host.functions();
  const width = Math.max(0, ...functions.map((fn) => fn.name.length));
  say(`${cyan("wfn")} serving ${functions.length} function${functions.length === 1 ? "" : "s"} on ${bold(url)}`);
  // Every failed function, and the first few others: a host of thousands prints a count, not a page per function.
  let serving = 0;
  for (const fn of functions) {
    if (fn.state === "Failed") {
      say(`  ${fn.name.padEnd(width)}  ${red(`failed: ${fn.stateReason ?? "unknown reason"}`)}`);
      continue;
    }
    if (serving < LISTED_AT_START) say(`  ${fn.name.padEnd(width)}  ${fn.routes.length > 0 ? fn.routes.join("  ") : dim("(no HTTP routes)")}`);
    serving++;
  }
  if (serving > LISTED_AT_START) say(dim(`  … and ${serving - LISTED_AT_START} more (wfn ls lists them)`));
  say(dim("press Ctrl-C to stop"));
}

/** Resolves on the first SIGINT or SIGTERM. */
export function untilSignal(): Promise<NodeJS.Signals> {
  return new Promise((resolve) => {
    const done = (signal: NodeJS.Signals) => {
      process.off("SIGINT", done);
      process.off("SIGTERM", done);
      resolve(signal);
    };
    process.on("SIGINT", done);
    process.on("SIGTERM", done);
  });
}

async function hasProject(dir: string): Promise<boolean> {
  try {
    await access(join(dir, PROJECT_FILE));
    return true;
  } catch {
    return false;
  }
}
