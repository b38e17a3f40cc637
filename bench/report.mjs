// Writes one run's results: JSON (timestamped and latest.json), a Markdown
// report (latest.md) and a bar chart of throughput at 50 connections as
// ratios to wfn (latest.svg, hand-written SVG).
import { mkdir, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { RESULTS } from "./lib/paths.mjs";

const escapeXml = (text) => String(text).replace(/[<>&"]/g, (c) => ({ "<": "&lt;", ">": "&gt;", "&": "&amp;", '"': "&quot;" })[c]);
const cell = (text) => String(text).replace(/\|/g, "\\|").replace(/\n/g, " ");

/** A duration given in ms, in the unit that reads best. */
export function formatMs(ms) {
  if (ms === undefined || ms === null || Number.isNaN(ms)) return "—";
  if (ms < 1) return `${(ms * 1000).toPrecision(3)} µs`;
  if (ms < 1000) return `${ms.toPrecision(3)} ms`;
  return `${(ms / 1000).toPrecision(3)} s`;
}
const formatUs = (us) => formatMs(us === undefined ? undefined : us / 1000);
const formatInt = (n) => (n === undefined ? "—" : Math.round(n).toLocaleString("en-US"));
const formatRatio = (r) => (r === undefined ? "—" : `${r >= 10 ? r.toFixed(0) : r.toFixed(2)}×`);
const firstLine = (text) => cell(String(text).split("\n")[0].slice(0, 160));

function formatTargetValue(value, unit) {
  if (value === undefined) return "—";
  if (unit === "ms") return formatMs(value);
  if (unit === "µs") return formatUs(value);
  if (unit === "×") return formatRatio(value);
  if (unit === "%") return `${value.toFixed(1)}%`;
  if (unit === "") return formatInt(value);
  if (unit === "MB") return `${value < 10 ? value.toFixed(2) : value.toFixed(0)} MB`;
  return `${value.toFixed(0)} ${unit}`;
}

function header(results) {
  const m = results.machine;
  const versions = Object.entries(m.versions).map(([name, version]) => `${name} ${version}`).join(", ");
  return [
    "# wfn benchmark results",
    "",
    `Run ${results.startedAt} (${results.mode}, ${results.durationS.toFixed(0)} s) on ${m.cpu}, ${m.cores} cores, ${m.memoryGB} GB, ${m.os}, Node ${m.node}; load average ${m.loadAverageAtStart.join(" / ")} at start, ${m.loadAverageAtEnd?.join(" / ") ?? "?"} at the end. Commit ${m.commit ?? "?"}${m.uncommittedChanges ? " with uncommitted changes" : ""}.`,
    "",
    `Versions: ${versions}.`,
    "",
    "Every number comes from this one run on this machine, with the load generator sharing its CPUs: compare ratios, not absolute values (see bench/README.md).",
  ];
}

/** A section's heading; `missing` is the whole section when its run failed or was not asked for. */
function section(results, key, title) {
  const lines = ["", `## ${title}`, ""];
  if (results.errors[key]) return { lines, missing: [...lines, `Failed: ${firstLine(results.errors[key])}`] };
  if (results[key] === undefined) return { lines, missing: [...lines, "Not run."] };
  return { lines, missing: undefined };
}

function targetsTable(results) {
  const lines = ["", "## Targets", "", "| target | measured | limit | result |", "|---|---|---|---|"];
  for (const t of results.targets) {
    lines.push(`| ${cell(t.name)} | ${formatTargetValue(t.value, t.unit)} | ${t.bound ?? (t.unit === "×" || t.unit === "/GB" ? "≥" : "≤")} ${formatTargetValue(t.limit, t.unit)} | **${t.status}** |`);
  }
  return lines;
}

function loadTable(results) {
  const { lines, missing } = section(results, "load", "HTTP load");
  if (missing) return missing;
  const s = results.settings;
  lines.push(
    `\`GET /\` → \`{"hello":"world"}\` over loopback, autocannon in its own process, ${s.warmupS} s warm-up then ${s.durationS} s measured per row. "× wfn" is the row's throughput over wfn's at the same connection count. Errors: non-2xx responses plus socket errors and timeouts. Server CPU is the server's process tree, in % of one core; CPU per request is that CPU time over the requests served; RSS is its peak during the measured window; machine CPU is every process on the machine (${results.machine.cores} cores = ${results.machine.cores * 100}%): well above server + load generator means something else was running.`,
    "",
    "| system | connections | req/s | × wfn | p50 | p99 | errors | server CPU | CPU per request | server RSS | load generator CPU | machine CPU |",
    "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|",
  );
  const wfn = results.load.find((p) => p.id === "wfn");
  for (const peer of results.load) {
    if (!peer.available || peer.runs.length === 0) {
      lines.push(`| ${cell(peer.label)} | — | not available: ${firstLine(peer.error ?? "unknown")} | | | | | | | | | |`);
      continue;
    }
    for (const run of peer.runs) {
      const base = wfn?.runs.find((r) => r.connections === run.connections)?.requestsPerSecond;
      lines.push(
        `| ${cell(peer.label)} | ${run.connections} | ${formatInt(run.requestsPerSecond)} | ${formatRatio(base ? run.requestsPerSecond / base : undefined)} | ${formatMs(run.latencyP50Ms)} | ${formatMs(run.latencyP99Ms)} | ${run.errors} | ${run.server.cpuPercent.toFixed(0)}% | ${run.requestsPerSecond > 0 ? formatUs((run.server.cpuPercent / 100 / run.requestsPerSecond) * 1e6) : "—"} | ${run.server.rssPeakMB.toFixed(0)} MB | ${run.loadgenCpuPercent?.toFixed(0) ?? "—"}% | ${run.machineCpuPercent?.toFixed(0) ?? "—"}% |`,
      );
    }
    if (peer.error) lines.push(`| ${cell(peer.label)} | — | stopped: ${firstLine(peer.error)} | | | | | | | | | |`);
  }
  const idle = results.load.filter((p) => p.idleCpuPercent !== undefined).map((p) => `${p.label} ${p.idleCpuPercent.toFixed(1)}%`);
  if (idle.length > 0) lines.push("", `Idle CPU (started, answered once, then ${3} s with nothing to do): ${idle.join(", ")}.`);
  return lines;
}

function coldTable(results) {
  const { lines, missing } = section(results, "cold", "Cold paths");
  if (missing) return missing;
  const { build, processStart, deployWarm, deployCold, burst } = results.cold;
  lines.push("| path | p50 | notes |", "|---|---:|---|");
  for (const b of build ?? []) {
    lines.push(
      b.error === undefined
        ? `| wfn build, hello on ${b.engine} | ${formatMs(b.buildP50Ms)} | empty build cache, median of ${b.samplesMs.length}; the same source again (component from the cache) ${formatMs(b.cachedP50Ms)}; component ${(b.componentBytes / 2 ** 20).toFixed(2)} MB |`
        : `| wfn build, hello on ${b.engine} | — | failed: ${firstLine(b.error)} |`,
    );
  }
  for (const peer of processStart) {
    lines.push(
      peer.available
        ? `| process start → first response: ${cell(peer.label)} | ${formatMs(peer.p50Ms)} | median of ${peer.startupMs.length}; min ${formatMs(Math.min(...peer.startupMs))}, max ${formatMs(Math.max(...peer.startupMs))} |`
        : `| process start → first response: ${cell(peer.label)} | — | not available: ${firstLine(peer.error ?? "unknown")} |`,
    );
  }
  for (const d of [deployWarm, deployCold]) {
    lines.push(
      `| wfn deploy → first response, ${d.cache} transpile cache | ${formatMs(d.totalP50Ms)} | deploy ${formatMs(d.deployP50Ms)} + first request ${formatMs(d.firstResponseP50Ms)}; embedded host, fresh process per run, median of ${d.runs.length} |`,
    );
  }
  lines.push(
    `| wfn burst: ${burst.requests} concurrent first requests, minInstances 0 | ${formatMs(burst.p50Ms)} | p99 ${formatMs(burst.p99Ms)}; ${burst.instancesAfter} instance(s) created; default executors |`,
  );
  return lines;
}

function microTable(results) {
  const { lines, missing } = section(results, "micro", "Micro (tinybench)");
  if (missing) return missing;
  const { tasks, crossingOverheadP50Us, timeoutDetection } = results.micro;
  lines.push("| measurement | p50 | p99 | mean | samples |", "|---|---:|---:|---:|---:|");
  for (const [name, t] of Object.entries(tasks)) {
    const failed = t.failures ? ` (**${t.failures.count} calls failed**: ${cell(t.failures.first)})` : "";
    lines.push(`| ${cell(name)}${failed} | ${formatUs(t.p50Us)} | ${formatUs(t.p99Us)} | ${formatUs(t.meanUs)} | ${t.samples} |`);
  }
  lines.push(
    "",
    `Executor crossing overhead (p50 through an executor − p50 in-thread, hello): ${formatUs(crossingOverheadP50Us)}. ` +
      `Timeout detection: a guest spinning past timeoutMs ${timeoutDetection.timeoutMs} ms is answered ${formatMs(timeoutDetection.lateP50Ms)} late (p50; max ${formatMs(timeoutDetection.lateMaxMs)}).`,
  );
  return lines;
}

function densityTable(results) {
  const { lines, missing } = section(results, "density", "Density");
  if (missing) return missing;
  const d = results.density;
  const engines = d.engines ?? [{ engine: "StarlingMonkey", ...d }];
  lines.push("| hello on | warm instances | host RSS | warm-up time |", "|---|---:|---:|---:|");
  for (const e of engines) for (const p of e.points) lines.push(`| ${e.engine} | ${p.instances} | ${p.rssMB.toFixed(0)} MB | ${formatMs(p.warmMs)} |`);
  lines.push("", "Each point is a fresh embedded host (default executors). Fitted:", "");
  for (const e of engines) lines.push(`- ${e.engine}: ${e.perInstanceMB.toFixed(2)} MB per warm instance over a ${e.baseRssMB.toFixed(0)} MB host → **${formatInt(e.instancesPerGB)} warm instances per GB**`);
  return lines;
}

function manyTable(results) {
  const { lines, missing } = section(results, "many", "Many functions on one host");
  if (missing) return missing;
  const m = results.many;
  lines.push(
    "| functions deployed | `wfn serve` start → banner | RSS at start | listing | cold requests | cold p50 | cold p99 | the first | RSS after |",
    "|---:|---:|---:|---:|---:|---:|---:|---:|---:|",
    `| ${formatInt(m.functions)} | ${formatMs(m.startMs)} | ${m.startedRssMB.toFixed(0)} MB | ${formatInt(m.listed)} in ${formatMs(m.listMs)} | ${m.requests} | ${formatMs(m.coldP50Ms)} | ${formatMs(m.coldP99Ms)} | ${formatMs(m.firstMs)} | ${m.afterRssMB.toFixed(0)} MB |`,
    "",
    "Distinct C wasi:http components (examples/c-hello, each copy's greeting patched to its own id), none kept warm, deployed to one data directory; a fresh `wfn serve --data-dir` on them; each request goes to a function picked at random that has not answered yet (its first: preparation from the transpile cache, compilation, a new instance).",
  );
  return lines;
}

function ioTable(results) {
  const { lines, missing } = section(results, "io", "I/O-bound load");
  if (missing) return missing;
  const io = results.io;
  const s = results.settings;
  lines.push(
    `\`GET /io\`: the function fetches an upstream that answers after ${io.upstreamDelayMs} ms and returns its answer (bench/apps/io; the same handler on workerd). The limit is connections ÷ upstream latency: what a server that only waits can serve. ${s.warmupS} s warm-up then ${s.durationS} s per row.`,
    "",
    "| system | connections | req/s | limit | of the limit | p50 | p99 | errors | server CPU |",
    "|---|---:|---:|---:|---:|---:|---:|---:|---:|",
  );
  for (const peer of io.peers) {
    if (!peer.available || peer.runs.length === 0) {
      lines.push(`| ${cell(peer.label)} | — | not available: ${firstLine(peer.error ?? "unknown")} | | | | | | |`);
      continue;
    }
    for (const run of peer.runs) {
      lines.push(
        `| ${cell(peer.label)} | ${run.connections} | ${formatInt(run.requestsPerSecond)} | ${formatInt(run.limitRps)} | ${(run.ofLimit * 100).toFixed(0)}% | ${formatMs(run.latencyP50Ms)} | ${formatMs(run.latencyP99Ms)} | ${run.errors} | ${run.server.cpuPercent.toFixed(0)}% |`,
      );
    }
  }
  const f = io.faultIsolation;
  if (f) {
    const statuses = [...new Set(f.runawayStatuses)].join("/");
    lines.push("", `**Fault isolation**: the I/O-bound function at 50 connections while a runaway (\`for(;;){}\`, timeoutMs 1 s) is called every second: ${formatInt(f.requestsPerSecond)} req/s, p99 ${formatMs(f.latencyP99Ms)}, **${f.errors} failed**; the runaway answered ${statuses} (${f.runawayCalls} calls).`);
  }
  const fair = io.fairness;
  if (fair) {
    lines.push(
      "",
      "**Fairness**: a healthy function called 20 times a second, alone and beside 10 clients of another function on the same host.",
      "",
      "| healthy function | p50 | p99 | failed |",
      "|---|---:|---:|---:|",
      `| alone | ${formatMs(fair.baseline.latencyP50Ms)} | ${formatMs(fair.baseline.latencyP99Ms)} | ${fair.baseline.errors} |`,
      `| beside 10 clients of a spinning function | ${formatMs(fair.spinning.latencyP50Ms)} | ${formatMs(fair.spinning.latencyP99Ms)} | ${fair.spinning.errors} |`,
      `| beside 10 clients waiting on a dead upstream | ${formatMs(fair.deadUpstream.latencyP50Ms)} | ${formatMs(fair.deadUpstream.latencyP99Ms)} | ${fair.deadUpstream.errors} |`,
    );
  }
  const d = io.suspended;
  if (d) {
    lines.push("", `**Suspended density**: ${d.suspendedCount} of ${d.count} invocations suspended at once on a fresh host (each waiting on a 20 s upstream, its own instance): host RSS ${d.idleRssMB.toFixed(0)} MB → ${d.suspendedRssMB.toFixed(0)} MB, **${d.perInvocationMB.toFixed(2)} MB per suspended invocation**.`);
  }
  return lines;
}

function interruptTable(results) {
  const { lines, missing } = section(results, "interrupt", "Interrupt checks");
  if (missing) return missing;
  const r = results.interrupt;
  lines.push(
    `The engine module instrumented with interrupt checks (${formatInt(r.instrumentation.checks)} checks at function entries and loop headers; ${formatInt(r.instrumentation.inputBytes / 1024)} KB → ${formatInt(r.instrumentation.outputBytes / 1024)} KB, +${r.instrumentation.growthPercent.toFixed(1)}%; ${formatMs(r.instrumentation.warmMedianMs)} to instrument, once per prepared version), against the same module without them, in alternating rounds in one thread:`,
    "",
    "| call | without checks (p50) | with checks (p50) | ratio |",
    "|---|---:|---:|---:|",
  );
  for (const row of [r.trivial, r.busy]) lines.push(`| ${cell(row.label)} | ${formatUs(row.originalP50Us)} | ${formatUs(row.instrumentedP50Us)} | ${formatRatio(row.ratio)} |`);
  lines.push(
    "",
    `A guest spinning past its deadline stops ${formatMs(r.stop.setToReturnMaxMs)} (worst of ${r.stop.runs}) after another thread raises the flag, and its thread goes on. ` +
      `A computing guest asked to give its thread back lets the work waiting there run ${r.yielded.setToOtherWorkMs === undefined ? "— (it did not)" : formatMs(r.yielded.setToOtherWorkMs)} after the request, then finishes with ${r.yielded.sameAnswer ? "the same answer" : "**a different answer**"}.`,
  );
  return lines;
}

function kvTable(results) {
  const { lines, missing } = section(results, "kv", "Key-value operations");
  if (missing) return missing;
  const r = results.kv;
  lines.push(
    `ctx.kv from a guest (${formatInt(r.count)} operations one after another in one invocation, ${r.valueBytes}-byte values, a store on disk), beside the same operations on the host's store directly, median of ${r.rounds} rounds:`,
    "",
    "| operation | from a guest | store directly | ratio |",
    "|---|---:|---:|---:|",
  );
  for (const op of ["set", "get", "list"]) lines.push(`| ${op} | ${formatInt(r[op].guestOpsPerS)} ops/s | ${formatInt(r[op].directOpsPerS)} ops/s | ${formatRatio(r[op].ratio)} |`);
  return lines;
}

function storeTable(results) {
  const { lines, missing } = section(results, "store", "Queues on each store");
  if (missing) return missing;
  const r = results.store;
  lines.push(
    `${formatInt(r.messages)} messages sent through the host(s) (${r.senders} at a time, round robin) until the consumers (batches of 10) have deleted every one; ${formatInt(r.invocations ?? 0)} asynchronous invocations of a trivial function until none is pending; the store alone: send 10, receive 10, delete them, ${formatInt(r.directMessages)} messages, no host; a deploy's propagation: a configuration change through one host until each other host runs it. The three hosts share one process and two cores:`,
    "",
    "| store | queue end to end | sends | async invocations | the store alone | PostgreSQL commits per message / per invocation | deploy reaches the other hosts |",
    "|---|---:|---:|---:|---:|---:|---:|",
  );
  for (const row of Object.values(r.stores)) {
    if (row.skipped) {
      lines.push(`| ${cell(row.label)} | skipped: ${cell(row.skipped)} | | | | | |`);
      continue;
    }
    const alone = row.storeAlonePerS === undefined ? "" : `${formatInt(row.storeAlonePerS)} msg/s`;
    const spread = row.propagationMs === undefined ? "" : `${row.propagationMs.p50.toFixed(0)} ms (p50), max ${row.propagationMs.max.toFixed(0)} ms`;
    const invocations = row.asyncPerS === undefined ? "" : `${formatInt(row.asyncPerS)} /s`;
    const commits = row.commitsPerMessage === undefined ? "" : `${row.commitsPerMessage.toFixed(2)} / ${row.commitsPerInvocation.toFixed(2)}`;
    lines.push(`| ${cell(row.label)} | ${formatInt(row.endToEndPerS)} msg/s | ${formatInt(row.sendPerS)} /s | ${invocations} | ${alone} | ${commits} | ${spread} |`);
  }
  return lines;
}

export function renderMarkdown(results) {
  const sections = [header(results), targetsTable(results), loadTable(results), ioTable(results), coldTable(results), microTable(results), interruptTable(results), kvTable(results), storeTable(results), densityTable(results), manyTable(results)];
  const errors = Object.entries(results.errors);
  if (errors.length > 0) sections.push(["", "## Errors", "", ...errors.map(([section, message]) => `- ${section}: ${firstLine(message)}`)]);
  return `${sections.flat().join("\n")}\n`;
}

/** Horizontal bars: req/s at 50 connections over wfn's, one bar per system. */
export function renderSvg(results) {
  const wfn = results.load?.find((p) => p.id === "wfn")?.runs.find((r) => r.connections === 50)?.requestsPerSecond;
  const rows = (results.load ?? []).map((peer) => {
    const rps = peer.runs?.find((r) => r.connections === 50)?.requestsPerSecond;
    return { label: peer.label, rps, ratio: wfn && rps !== undefined ? rps / wfn : undefined, wfn: peer.wfn };
  });
  const width = 760;
  const left = 290;
  const barMax = width - left - 150;
  const rowHeight = 30;
  const top = 56;
  const height = top + rows.length * rowHeight + 30;
  const maxRatio = Math.max(1, ...rows.map((r) => r.ratio ?? 0));
  const parts = [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}" viewBox="0 0 ${width} ${height}" font-family="system-ui, -apple-system, 'Segoe UI', sans-serif" font-size="13">`,
    `<rect width="${width}" height="${height}" fill="#ffffff"/>`,
    `<text x="16" y="24" font-size="15" font-weight="600">Throughput at 50 connections, relative to wfn (GET / → {"hello":"world"})</text>`,
    `<text x="16" y="42" fill="#555">${escapeXml(`${results.machine.cpu}, ${results.machine.cores} cores, Node ${results.machine.node} — ${results.startedAt} (${results.mode})`)}</text>`,
  ];
  const oneX = left + (barMax * 1) / maxRatio;
  rows.forEach((row, i) => {
    const y = top + i * rowHeight;
    parts.push(`<text x="${left - 10}" y="${y + 19}" text-anchor="end">${escapeXml(row.label)}</text>`);
    if (row.ratio === undefined) {
      parts.push(`<text x="${left + 4}" y="${y + 19}" fill="#888">not available</text>`);
      return;
    }
    const w = Math.max(2, (barMax * row.ratio) / maxRatio);
    parts.push(`<rect x="${left}" y="${y + 6}" width="${w.toFixed(1)}" height="18" rx="2" fill="${row.wfn ? "#d9480f" : "#4263eb"}"/>`);
    parts.push(`<text x="${(left + w + 6).toFixed(1)}" y="${y + 19}">${formatRatio(row.ratio)} <tspan fill="#777">(${formatInt(row.rps)}/s)</tspan></text>`);
  });
  parts.push(`<line x1="${oneX.toFixed(1)}" y1="${top}" x2="${oneX.toFixed(1)}" y2="${top + rows.length * rowHeight}" stroke="#d9480f" stroke-dasharray="3 3"/>`);
  parts.push(`<text x="${oneX.toFixed(1)}" y="${height - 10}" text-anchor="middle" fill="#d9480f">1× = wfn</text>`);
  parts.push("</svg>");
  return `${parts.join("\n")}\n`;
}

/** Writes results/<timestamp>.json, latest.json, latest.md, latest.svg; returns their paths. */
export async function writeResults(results) {
  await mkdir(RESULTS, { recursive: true });
  const stamp = results.startedAt.replace(/:/g, "-");
  const json = `${JSON.stringify(results, null, 2)}\n`;
  const files = {
    json: join(RESULTS, `${stamp}.json`),
    latestJson: join(RESULTS, "latest.json"),
    markdown: join(RESULTS, "latest.md"),
    svg: join(RESULTS, "latest.svg"),
  };
  await writeFile(files.json, json);
  await writeFile(files.latestJson, json);
  await writeFile(files.markdown, renderMarkdown(results));
  await writeFile(files.svg, renderSvg(results));
  return files;
}
