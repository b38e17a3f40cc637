import { loadOnce } from "/work/main/bench/load.mjs";
import { startPeer } from "/work/main/bench/peers/start.mjs";
const tree = process.env.TREE ?? "/work/main";
process.env.WFN_CACHE_DIR = `${tree}/.wfn/cache`;
const extra = (process.env.NODEFLAGS ?? "--trace-gc").split(" ");
const peer = { id: "x", label: "x", readyPath: "/", command: (port) => ["bash", ["-c", `exec ${process.execPath} ${extra.join(" ")} ${tree}/cli/bin/wfn.js serve ${tree}/bench/apps/${process.env.APP ?? "hello"} --port ${port} > /tmp/gc.log 2>&1`]] };
const server = await startPeer(peer, {});
const { readFileSync } = await import("node:fs");
const before = readFileSync("/tmp/gc.log", "utf8").length;
const r = await loadOnce(server, { connections: 50, warmupS: 2, durationS: 6, url: server.url });
const out = readFileSync("/tmp/gc.log", "utf8").slice(before);
console.log(`${r.requestsPerSecond.toFixed(0)} req/s`);
const lines = out.split("\n").filter((l) => /Mark-Compact|Scavenge|Mark-Sweep|Minor/.test(l));
const by = new Map();
for (const l of lines) { const m = /\[(\d+):(0x[0-9a-f]+)\].*?(Mark-Compact|Scavenge|Mark-Sweep|Minor Mark-Sweep)[^,]*?([\d.]+) \(([\d.]+)\) -> ([\d.]+) \(([\d.]+)\) MB, (?:pooled: [\d.]+ MB, )?([\d.]+) \/ ([\d.]+) ms/.exec(l); if (!m) continue; const k = `${m[2]} ${m[3]}`; const e = by.get(k) ?? { n: 0, ms: 0, last: "" }; e.n++; e.ms += Number(m[8]); e.last = `${m[4]}->${m[6]} MB`; by.set(k, e); }
for (const [k, e] of by) console.log(k, e.n, "times", e.ms.toFixed(0), "ms main-thread", e.last);
console.log(lines.slice(-3).join("\n"));
await server.stop();
