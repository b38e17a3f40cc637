// The Node.js version check that `wfn`, `npm test` and `npm start` run
// first: what it tells the user of a Node.js that is too old.
import { execFile } from "node:child_process";
import { existsSync } from "node:fs";
import { join } from "node:path";
import { promisify } from "node:util";
import { describe, expect, it } from "vitest";
import { nodeProblem } from "../../cli/bin/require-node.js";
import { ROOT } from "../helpers/paths.js";

/** Debian's own Node.js (20), which wfn does not run on, when this machine has it. */
const SYSTEM_NODE = "/usr/bin/node";
const systemNodeIsOld = existsSync(SYSTEM_NODE) && Number((await promisify(execFile)(SYSTEM_NODE, ["-p", "process.versions.node.split('.')[0]"])).stdout) < 22;

describe("the Node.js version check", () => {
  it("gives the exact commands to get Node.js 24 when this one is older than 22.19", () => {
    const problem = nodeProblem("npm test", "20.20.2", "/usr/bin/node");
    expect(problem).toContain("npm test needs Node.js 22.19 or newer (24 recommended); this is Node.js 20.20.2 (/usr/bin/node).");
    expect(problem).toContain("  npm install --prefix ~/.cache/wfn-node node@24\n  export PATH=~/.cache/wfn-node/node_modules/.bin:$PATH\n");
    expect(nodeProblem("wfn", "22.18.1")).toBeDefined();
  });

  it("says nothing from 22.19 on", () => {
    for (const version of ["22.19.0", "22.20.1", "23.0.0", "24.21.0", "25.1.0"]) expect(nodeProblem("wfn", version), version).toBeUndefined();
  });

  it.skipIf(!systemNodeIsOld)("stops `wfn` on the system's old Node.js with that message and exit code 1, before anything else runs", async () => {
    const run = promisify(execFile)(SYSTEM_NODE, [join(ROOT, "cli", "bin", "wfn.js"), "--version"]);
    const failure = await run.then(() => undefined, (error: { code: number; stderr: string }) => error);
    expect(failure?.code).toBe(1);
    expect(failure?.stderr).toMatch(/^wfn needs Node\.js 22\.19 or newer/);
    expect(failure?.stderr).toContain("npm install --prefix ~/.cache/wfn-node node@24");
  });
});
