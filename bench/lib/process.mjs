// Child processes the benchmarks start: each in its own process group, so
// the whole tree (npm shims, workers, helper processes) is stopped together,
// and every one still alive is killed when this process ends, however it ends.
import { spawn } from "node:child_process";

const live = new Set();

/**
 * Starts `command` in a new process group. Keeps the tail of its output for
 * error messages. Returns a handle with `pid`, `exited` (a promise of the
 * exit code/signal), `output()` and `stop()`.
 */
export function startProcess(command, args, options = {}) {
  const child = spawn(command, args, {
    cwd: options.cwd,
    env: { ...process.env, ...options.env },
    stdio: ["ignore", "pipe", "pipe", ...(options.ipc ? ["ipc"] : [])],
    detached: true,
  });
  let tail = "";
  const keep = (chunk) => {
    tail = (tail + chunk.toString()).slice(-4000);
    options.onOutput?.(chunk.toString());
  };
  child.stdout.on("data", keep);
  child.stderr.on("data", keep);
  const exited = new Promise((resolve) => {
    child.once("error", (error) => {
      tail += `\n${error.message}`;
      resolve({ code: null, signal: null, error });
    });
    child.once("exit", (code, signal) => resolve({ code, signal }));
  });
  const handle = {
    child,
    pid: child.pid,
    exited,
    done: false,
    output: () => tail.trim(),
    stop: (timeoutMs = 5000) => stopProcess(handle, timeoutMs),
  };
  live.add(handle);
  void exited.then(() => {
    handle.done = true;
    // The group may outlive its leader (a helper the leader spawned): end it too.
    killGroup(handle.pid, "SIGKILL");
    live.delete(handle);
  });
  return handle;
}

/** SIGTERM to the group, then SIGKILL if it has not exited in time. */
async function stopProcess(handle, timeoutMs) {
  if (handle.done) return;
  killGroup(handle.pid, "SIGTERM");
  const timer = new Promise((resolve) => setTimeout(resolve, timeoutMs, "timeout"));
  if ((await Promise.race([handle.exited, timer])) === "timeout") {
    killGroup(handle.pid, "SIGKILL");
    await handle.exited;
  }
}

function killGroup(pid, signal) {
  if (pid === undefined) return;
  try {
    process.kill(-pid, signal);
  } catch {
    // already gone
  }
}

/** Kills every process group still running (synchronous: safe in an exit handler). */
export function killAll() {
  for (const handle of live) killGroup(handle.pid, "SIGKILL");
  live.clear();
}

process.once("exit", killAll);
for (const signal of ["SIGINT", "SIGTERM", "SIGHUP"]) {
  process.once(signal, () => {
    killAll();
    process.exit(128 + ({ SIGINT: 2, SIGTERM: 15, SIGHUP: 1 })[signal]);
  });
}
