// Starts one peer as a child process on a free loopback port and waits until
// GET / answers 200 with the expected body. The time from spawn to that
// first answer is the peer's cold start (process start → first response).
import { mkdir, mkdtemp, rm } from "node:fs/promises";
import { join } from "node:path";
import { freePort, waitForOk } from "../lib/http.mjs";
import { startProcess } from "../lib/process.mjs";
import { ROOT, SCRATCH } from "../lib/paths.mjs";

/** A running peer: `url`, `pid` (root of its process tree), `startupMs`, `stop()`. It is ready once `peer.readyPath` (default `/`) answers 200. */
export async function startPeer(peer, built, { timeoutMs = 120_000 } = {}) {
  const port = await freePort();
  const [command, args] = peer.command(port, built);
  const url = `http://127.0.0.1:${port}/`;
  const readyUrl = `http://127.0.0.1:${port}${peer.readyPath ?? "/"}`;
  // A private temporary folder, removed when the peer stops: jco serve transpiles into the
  // temporary folder on every start and leaves ~14 MB behind when it is stopped.
  await mkdir(join(SCRATCH, "tmp"), { recursive: true });
  const tmp = await mkdtemp(join(SCRATCH, "tmp", `${peer.id}-`));
  const started = performance.now();
  const proc = startProcess(command, args, { cwd: ROOT, env: { ...peer.env, TMPDIR: tmp } });
  const stop = async () => {
    await proc.stop();
    await rm(tmp, { recursive: true, force: true });
  };
  try {
    const first = await waitForOk(readyUrl, { timeoutMs, proc });
    const startupMs = performance.now() - started;
    if (peer.check && !safeCheck(peer.check, first.body)) throw new Error(`GET / answered an unexpected body: ${first.body.slice(0, 200)}`);
    return { url, pid: proc.pid, startupMs, body: first.body, stop, output: () => proc.output() };
  } catch (error) {
    await stop();
    const output = proc.output();
    throw new Error(`${peer.label} did not start: ${error.message}${output && !error.message.includes(output.slice(-100)) ? `\n--- its output ---\n${output.slice(-1500)}` : ""}`);
  }
}

function safeCheck(check, body) {
  try {
    return check(body);
  } catch {
    return false;
  }
}
