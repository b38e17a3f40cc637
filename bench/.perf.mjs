// perf record of `wfn serve bench/apps/hello` under load; prints the pid.
import { spawn } from "node:child_process";
import { loadOnce } from "/work/main/bench/load.mjs";
import { startPeer } from "/work/main/bench/peers/start.mjs";
const tree = process.env.TREE ?? "/work/main";
process.env.WFN_CACHE_DIR = `${tree}/.wfn/cache`;
const extra = process.env.NODEFLAGS ? process.env.NODEFLAGS.split(" ") : [];
const peer = { id: "x", label: "x", readyPath: "/", command: (port) => [process.execPath, [...extra, `${tree}/cli/bin/wfn.js`, "serve", `${tree}/bench/apps/${process.env.APP ?? "hello"}`, "--port", String(port)]] };
const server = await startPeer(peer, {});
setTimeout(() => {
  const perf = spawn("perf", ["record", "-F", "999", "-g", "-o", "/tmp/perf.data", "-p", String(server.pid), "--", "sleep", "5"], { stdio: "inherit" });
  perf.on("exit", () => console.log("perf done"));
}, 2500);
const r = await loadOnce(server, { connections: Number(process.env.CONNS ?? 50), warmupS: 2, durationS: 7, url: server.url });
console.log(`${r.requestsPerSecond.toFixed(0)} req/s cpu ${r.server.cpuPercent.toFixed(0)}%`);
await server.stop();
