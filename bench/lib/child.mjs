// Runs a bench script in a fresh Node process and returns the result it
// sends over IPC ({result} or {error}); fails with the script's output when
// it crashes, and kills it when it overruns.
import { startProcess } from "./process.mjs";

export function runScript(script, args = [], { timeoutMs = 120_000, nodeArgs = [] } = {}) {
  return new Promise((resolve, reject) => {
    const proc = startProcess(process.execPath, [...nodeArgs, script, ...args], { ipc: true });
    let settled = false;
    const finish = (error, result) => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      void proc.stop();
      if (error) reject(error);
      else resolve(result);
    };
    const timer = setTimeout(() => finish(new Error(`${script} ${args.join(" ")} did not finish within ${timeoutMs / 1000} s`)), timeoutMs);
    proc.child.on("message", (message) => {
      if (message.result !== undefined) finish(undefined, message.result);
      else if (message.error !== undefined) finish(new Error(message.error));
    });
    void proc.exited.then(({ code, signal }) => {
      // Let a result sent just before exiting arrive first.
      setImmediate(() => finish(new Error(`${script} ${args.join(" ")} exited (${signal ?? `code ${code}`}) without a result:\n${proc.output().slice(-1500)}`)));
    });
  });
}
