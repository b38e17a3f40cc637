// Commands that ship code to a running host and manage what runs there:
// deploy, ls, versions, alias, traffic, rollback, config, logs, rm.
import { readFile } from "node:fs/promises";
import { join, resolve } from "node:path";
import { parseArgs } from "node:util";
import { APP_FILE, COMPONENT_FILE, MANIFEST_FILE, textSink, type AliasStatus, type DeploymentResult, type FunctionStatus, type LogRecord, type VersionStatus } from "@wfn/runtime";
import { appFileText, DEFAULT_OUT_DIR } from "../build/build.js";
import { loadProject, selectFunctions } from "../project/project.js";
import { connect, remoteHelp, remoteOptions } from "../remote/client.js";
import { print, table } from "../remote/format.js";
import { bold, cyan, dim, formatBytes, green, out, say } from "../ui.js";
import { UsageError } from "../errors.js";
import { buildStale } from "./serve.js";

export const deployHelp = `Usage: wfn deploy [dir] [options]

Builds what is stale in the project (default: .), uploads its functions to a
running host in one request, and waits until they are active there. The host
checks everything first and switches all functions together, or none: a
rejected deploy leaves what runs untouched. A function whose code and
configuration did not change keeps its version.

Options:
  --only <a,b>          deploy only these functions
  --description <text>  recorded with each new version
  --no-build            upload what is built, even if stale
${remoteHelp}`;

export async function deployCommand(args: string[]): Promise<number> {
  const { values, positionals } = parseArgs({
    args,
    allowPositionals: true,
    allowNegative: true,
    options: { ...remoteOptions, only: { type: "string", multiple: true }, description: { type: "string" }, build: { type: "boolean", default: true } },
  });
  const project = await loadProject(positionals[0] ?? ".");
  const client = await connect(values, project.dir);
  const names = selectFunctions(project, values.only);
  if (values.build) await buildStale(project);
  const outDir = resolve(project.dir, DEFAULT_OUT_DIR);

  const form = new FormData();
  let bytes = 0;
  for (const name of names) {
    const dir = join(outDir, name);
    let manifest: string;
    let component: Uint8Array;
    try {
      manifest = await readFile(join(dir, MANIFEST_FILE), "utf8");
      component = await readFile(join(dir, COMPONENT_FILE));
    } catch {
      throw new UsageError(`function ${name} is not built (run \`wfn build\`, or drop --no-build)`);
    }
    form.append(`${name}/${MANIFEST_FILE}`, new Blob([manifest], { type: "application/json" }), MANIFEST_FILE);
    form.append(`${name}/${COMPONENT_FILE}`, new Blob([component as BlobPart], { type: "application/wasm" }), COMPONENT_FILE);
    bytes += component.byteLength + manifest.length;
  }
  form.append(APP_FILE, new Blob([appFileText(project)], { type: "application/json" }), APP_FILE);
  if (values.description !== undefined) form.append("description", values.description);

  say(`${cyan("wfn")} deploying ${names.length} function${names.length === 1 ? "" : "s"} (${formatBytes(bytes)}) to ${bold(client.url)}...`);
  const started = performance.now();
  const result = await client.upload<DeploymentResult & { status: FunctionStatus[] }>("/_wfn/deployments", form);
  if (values.json) return print(result);
  table(
    ["FUNCTION", "VERSION", "SHA256", "CHANGE"],
    result.functions.map((fn) => [
      fn.function,
      fn.changed ? `${fn.from ?? "-"} → ${fn.to}` : String(fn.to),
      fn.sha256.slice(0, 12),
      fn.changed ? (fn.from === undefined ? "new" : "updated") : "unchanged",
    ]),
  );
  const changed = result.functions.filter((fn) => fn.changed).length;
  say(green(`deployed in ${((performance.now() - started) / 1000).toFixed(1)} s: ${changed} new version${changed === 1 ? "" : "s"}, all active`));
  return 0;
}

export const lsHelp = `Usage: wfn ls [options]

Lists the functions of a running host: state, $LATEST version, what serves
their traffic, aliases, routes and instances.

Options:
${remoteHelp}`;

export async function lsCommand(args: string[]): Promise<number> {
  const { values } = parseArgs({ args, options: remoteOptions });
  const { functions } = await (await connect(values)).get<{ functions: FunctionStatus[] }>("/_wfn/functions");
  if (values.json) return print({ functions });
  table(
    ["FUNCTION", "STATE", "LATEST", "TRAFFIC", "ALIASES", "INSTANCES", "ROUTES"],
    functions.map((fn) => [
      fn.name,
      fn.state + (fn.lastUpdateStatus === "Failed" ? " (last update failed)" : fn.lastUpdateStatus === "InProgress" ? " (updating)" : ""),
      fn.latestVersion === undefined ? "-" : String(fn.latestVersion),
      fn.traffic,
      fn.aliases.map(describeAlias).join(", ") || "-",
      `${fn.instances.busy}/${fn.instances.total}`,
      fn.routes.join(" ") || "-",
    ]),
    "no functions (deploy some with `wfn deploy`)",
  );
  for (const fn of functions) {
    const reason = fn.stateReason ?? fn.lastUpdateStatusReason;
    if (reason !== undefined) say(dim(`${fn.name}: ${reason}`));
  }
  return 0;
}

export const versionsHelp = `Usage: wfn versions <function> [options]

Lists a function's versions, oldest first, with what points at each.

Options:
${remoteHelp}`;

export async function versionsCommand(args: string[]): Promise<number> {
  const { values, positionals } = parseArgs({ args, allowPositionals: true, options: remoteOptions });
  const name = required(positionals[0], "which function? usage: wfn versions <function>");
  const { versions } = await (await connect(values)).get<{ versions: VersionStatus[] }>(`/_wfn/functions/${encodeURIComponent(name)}/versions`);
  if (values.json) return print({ versions });
  table(
    ["VERSION", "CREATED", "SHA256", "QUALIFIERS", "DESCRIPTION"],
    versions.map((v) => [String(v.version), v.createdAt, v.sha256.slice(0, 12), v.qualifiers.join(", ") || "-", v.description ?? ""]),
  );
  return 0;
}

export const aliasHelp = `Usage: wfn alias set <function> <alias> <version> [--canary <version>=<percent>] [options]
       wfn alias rm <function> <alias>
       wfn alias ls <function>

An alias names a version (\`prod\` → 7). With --canary, a share of the alias's
invocations goes to a second version (\`--canary 8=10\`: 10% to version 8).
Invoke an alias with the Invoke API's Qualifier, or make it serve the
function's routes and triggers with \`wfn traffic <function> <alias>\`.

Options:
  --canary <v>=<pct>   send pct% (0 < pct < 100) of invocations to version v
  --description <text>
${remoteHelp}`;

export async function aliasCommand(args: string[]): Promise<number> {
  const { values, positionals } = parseArgs({ args, allowPositionals: true, options: { ...remoteOptions, canary: { type: "string" }, description: { type: "string" } } });
  const [action, name, alias, version] = positionals;
  const client = await connect(values);
  const path = (fn: string) => `/_wfn/functions/${encodeURIComponent(fn)}/aliases`;
  switch (action) {
    case "set": {
      if (name === undefined || alias === undefined || version === undefined) throw new UsageError("usage: wfn alias set <function> <alias> <version> [--canary <version>=<percent>]");
      const body: Record<string, unknown> = { version: wholeNumber(version, "the version") };
      if (values.canary !== undefined) {
        const match = /^(\d+)=(\d+(?:\.\d+)?)%?$/.exec(values.canary);
        if (match === null) throw new UsageError(`--canary takes <version>=<percent>, such as 8=10, got "${values.canary}"`);
        const percent = Number(match[2]);
        if (!(percent > 0 && percent < 100)) throw new UsageError(`the canary's percent must be between 0 and 100, got ${percent}`);
        body.canary = { version: Number(match[1]), weight: percent / 100 };
      }
      if (values.description !== undefined) body.description = values.description;
      const answer = await client.put<{ alias: AliasStatus }>(`${path(name)}/${encodeURIComponent(alias)}`, body);
      if (values.json) return print(answer);
      out(`${name}:${describeAlias(answer.alias)}`);
      return 0;
    }
    case "rm": {
      if (name === undefined || alias === undefined) throw new UsageError("usage: wfn alias rm <function> <alias>");
      await client.delete(`${path(name)}/${encodeURIComponent(alias)}`);
      if (!values.json) out(`removed alias ${alias} of ${name}`);
      return 0;
    }
    case "ls": {
      if (name === undefined) throw new UsageError("usage: wfn alias ls <function>");
      const answer = await client.get<{ aliases: AliasStatus[] }>(path(name));
      if (values.json) return print(answer);
      if (answer.aliases.length === 0) say(dim(`${name} has no aliases`));
      else table(["ALIAS", "VERSION", "CANARY", "DESCRIPTION"], answer.aliases.map((a) => [a.name, String(a.version), a.canary === undefined ? "-" : `${a.canary.version} (${percent(a.canary.weight)})`, a.description ?? ""]));
      return 0;
    }
    default:
      throw new UsageError(`wfn alias takes set, rm or ls${action === undefined ? "" : `, not "${action}"`}`);
  }
}

export const trafficHelp = `Usage: wfn traffic <function> <$LATEST|alias> [options]

Chooses what serves the function's HTTP routes, schedule, queue and storage
notifications: \`$LATEST\` (the default) or one of its aliases. Quote $LATEST
in a shell: '$LATEST'.

Options:
${remoteHelp}`;

export async function trafficCommand(args: string[]): Promise<number> {
  const { values, positionals } = parseArgs({ args, allowPositionals: true, options: remoteOptions });
  const [name, qualifier] = positionals;
  if (name === undefined || qualifier === undefined) throw new UsageError("usage: wfn traffic <function> <$LATEST|alias>");
  const answer = await (await connect(values)).put<{ function: FunctionStatus }>(`/_wfn/functions/${encodeURIComponent(name)}/traffic`, { qualifier });
  if (values.json) return print(answer);
  out(`${name}: traffic goes to ${answer.function.traffic}`);
  return 0;
}

export const rollbackHelp = `Usage: wfn rollback <function> [--to <version>] [options]

Moves what serves the function's traffic (its alias, or $LATEST) back to an
earlier version — by default the one before — and drops any canary. Requests
in flight finish on the version they started on.

Options:
  --to <version>    the version to go back to
${remoteHelp}`;

export async function rollbackCommand(args: string[]): Promise<number> {
  const { values, positionals } = parseArgs({ args, allowPositionals: true, options: { ...remoteOptions, to: { type: "string" } } });
  const name = required(positionals[0], "which function? usage: wfn rollback <function> [--to <version>]");
  const body = values.to === undefined ? {} : { to: wholeNumber(values.to, "--to") };
  const answer = await (await connect(values)).post<{ qualifier: string; from: number; to: number }>(`/_wfn/functions/${encodeURIComponent(name)}/rollback`, body);
  if (values.json) return print(answer);
  out(
    answer.from === answer.to
      ? `${name}: dropped the canary of ${answer.qualifier}, which stays on version ${answer.to}`
      : `${name}: ${answer.qualifier} moved from version ${answer.from} to ${answer.to}`,
  );
  return 0;
}

export const configHelp = `Usage: wfn config get <function> [options]
       wfn config set <function> [settings] [options]

Shows a function's configuration, or changes it without uploading code: the
host makes a new version with the same component, which becomes $LATEST.

Settings:
  --memory <MB>           memoryMB
  --timeout <ms>          timeoutMs
  --concurrency <n>       maxConcurrency
  --min-instances <n>     minInstances
  --env <KEY=VALUE>       set an environment variable (repeatable)
  --unset-env <KEY>       remove one (repeatable)
  --auth <none|key>       whether invoking needs a key
  --description <text>    recorded with the new version
${remoteHelp}`;

export async function configCommand(args: string[]): Promise<number> {
  const { values, positionals } = parseArgs({
    args,
    allowPositionals: true,
    options: {
      ...remoteOptions,
      memory: { type: "string" },
      timeout: { type: "string" },
      concurrency: { type: "string" },
      "min-instances": { type: "string" },
      env: { type: "string", multiple: true },
      "unset-env": { type: "string", multiple: true },
      auth: { type: "string" },
      description: { type: "string" },
    },
  });
  const [action, name] = positionals;
  if ((action !== "get" && action !== "set") || name === undefined) throw new UsageError("usage: wfn config get|set <function> [settings]");
  const client = await connect(values);
  const path = `/_wfn/functions/${encodeURIComponent(name)}`;
  const current = await client.get<{ function: FunctionStatus }>(path);
  if (action === "get") return print(current.function.config);
  const patch: Record<string, unknown> = {};
  if (values.memory !== undefined) patch.memoryMB = wholeNumber(values.memory, "--memory");
  if (values.timeout !== undefined) patch.timeoutMs = wholeNumber(values.timeout, "--timeout");
  if (values.concurrency !== undefined) patch.maxConcurrency = wholeNumber(values.concurrency, "--concurrency");
  if (values["min-instances"] !== undefined) patch.minInstances = wholeNumber(values["min-instances"], "--min-instances", 0);
  if (values.auth !== undefined) {
    if (values.auth !== "none" && values.auth !== "key") throw new UsageError(`--auth is none or key, got "${values.auth}"`);
    patch.auth = values.auth;
  }
  if (values.env !== undefined || values["unset-env"] !== undefined) {
    const env = { ...(current.function.config?.env ?? {}) };
    for (const pair of values.env ?? []) {
      const at = pair.indexOf("=");
      if (at <= 0) throw new UsageError(`--env takes KEY=VALUE, got "${pair}"`);
      env[pair.slice(0, at)] = pair.slice(at + 1);
    }
    for (const key of values["unset-env"] ?? []) delete env[key];
    patch.env = env;
  }
  if (Object.keys(patch).length === 0) throw new UsageError("nothing to change: give --memory, --timeout, --concurrency, --min-instances, --env, --unset-env or --auth");
  if (values.description !== undefined) patch.description = values.description;
  const answer = await client.patch<DeploymentResult>(`${path}/configuration`, patch);
  if (values.json) return print(answer);
  const [fn] = answer.functions;
  out(fn === undefined || !fn.changed ? `${name}: unchanged` : `${name}: version ${fn.from} → ${fn.to}`);
  return 0;
}

export const logsHelp = `Usage: wfn logs [function] [options]

Prints a running host's recent log lines (its own, or one function's), and
with --follow keeps printing new ones until Ctrl-C. The host keeps about the
last 10 000 lines (1 MiB) per function, in memory.

Options:
  --since <when>        from this time: 10m, 2h, 1d, an ISO time or epoch ms
  --request-id <id>     one invocation's lines only
  --limit <n>           at most this many recent lines (default: 1000)
  -f, --follow          keep printing new lines
${remoteHelp}`;

export async function logsCommand(args: string[]): Promise<number> {
  const { values, positionals } = parseArgs({
    args,
    allowPositionals: true,
    options: { ...remoteOptions, since: { type: "string" }, "request-id": { type: "string" }, limit: { type: "string" }, follow: { type: "boolean", short: "f", default: false } },
  });
  const query = new URLSearchParams();
  if (positionals[0] !== undefined) query.set("function", positionals[0]);
  if (values.since !== undefined) query.set("since", values.since);
  if (values["request-id"] !== undefined) query.set("requestId", values["request-id"]);
  if (values.limit !== undefined) query.set("limit", String(wholeNumber(values.limit, "--limit")));
  const client = await connect(values);
  const write = values.json ? (record: LogRecord) => out(JSON.stringify(record)) : textSink(process.stdout);
  if (!values.follow) {
    const { records } = await client.get<{ records: LogRecord[] }>(`/_wfn/logs?${query}`);
    for (const record of records) write(record);
    return 0;
  }
  query.set("follow", "1");
  const abort = new AbortController();
  const stop = () => abort.abort();
  process.once("SIGINT", stop);
  process.once("SIGTERM", stop);
  try {
    const response = await client.stream(`/_wfn/logs?${query}`, abort.signal);
    const decoder = new TextDecoder();
    let pending = "";
    for await (const chunk of response.body as unknown as AsyncIterable<Uint8Array>) {
      pending += decoder.decode(chunk, { stream: true });
      let newline: number;
      while ((newline = pending.indexOf("\n")) >= 0) {
        const line = pending.slice(0, newline).trim();
        pending = pending.slice(newline + 1);
        if (line !== "") write(JSON.parse(line) as LogRecord);
      }
    }
    say(dim("the host closed the stream"));
  } catch (error) {
    if (!abort.signal.aborted) throw error;
  } finally {
    process.off("SIGINT", stop);
    process.off("SIGTERM", stop);
  }
  return 0;
}

export const rmHelp = `Usage: wfn rm <function> [options]

Removes a function from a running host, with its versions and aliases.
Invocations in flight finish first.

Options:
${remoteHelp}`;

export async function rmCommand(args: string[]): Promise<number> {
  const { values, positionals } = parseArgs({ args, allowPositionals: true, options: remoteOptions });
  const name = required(positionals[0], "which function? usage: wfn rm <function>");
  await (await connect(values)).delete(`/_wfn/functions/${encodeURIComponent(name)}`);
  if (!values.json) out(`removed ${name}`);
  return 0;
}

function describeAlias(alias: AliasStatus): string {
  return `${alias.name} → ${alias.version}${alias.canary === undefined ? "" : ` (+${alias.canary.version} at ${percent(alias.canary.weight)})`}`;
}

function percent(weight: number): string {
  return `${Math.round(weight * 1000) / 10}%`;
}

function required(value: string | undefined, usage: string): string {
  if (value === undefined) throw new UsageError(usage);
  return value;
}

function wholeNumber(text: string, what: string, min = 1): number {
  const value = Number(text);
  if (!/^\d+$/.test(text) || !Number.isSafeInteger(value) || value < min) throw new UsageError(`${what} must be a whole number${min === 0 ? "" : " above 0"}, got "${text}"`);
  return value;
}
