// What a result was measured on: machine, OS, Node, the checkout's commit,
// and the versions of wfn and of every tool and peer in the comparison.
import { execFileSync } from "node:child_process";
import { readFileSync } from "node:fs";
import { cpus, loadavg, release, totalmem, type } from "node:os";
import { join } from "node:path";
import { packageVersion } from "./packages.mjs";
import { ROOT } from "./paths.mjs";

const PACKAGES = [
  "@bytecodealliance/jco",
  "@bytecodealliance/componentize-js",
  "@bytecodealliance/jco-transpile",
  "@bytecodealliance/preview2-shim",
  "hono",
  "@hono/node-server",
  "workerd",
  "autocannon",
  "tinybench",
];

function osName() {
  try {
    return /^PRETTY_NAME="?([^"\n]*)"?$/m.exec(readFileSync("/etc/os-release", "utf8"))?.[1];
  } catch {
    return undefined;
  }
}

function git(args) {
  try {
    return execFileSync("git", args, { cwd: ROOT, encoding: "utf8", stdio: ["ignore", "pipe", "ignore"] }).trim();
  } catch {
    return undefined;
  }
}

const workspaceVersion = (dir) => JSON.parse(readFileSync(join(ROOT, dir, "package.json"), "utf8")).version;

/** Facts about this machine and checkout, taken at the start of a run. */
export function describeMachine() {
  const cpuList = cpus();
  return {
    cpu: cpuList[0]?.model.trim(),
    cores: cpuList.length,
    memoryGB: Math.round((totalmem() / 2 ** 30) * 10) / 10,
    os: `${osName() ?? type()} (${type()} ${release()})`,
    node: process.version,
    loadAverageAtStart: loadavg().map((x) => Math.round(x * 100) / 100),
    commit: git(["rev-parse", "--short", "HEAD"]),
    uncommittedChanges: (git(["status", "--porcelain"]) ?? "") !== "",
    versions: {
      "@wfn/runtime": workspaceVersion("runtime"),
      "@wfn/sdk": workspaceVersion("sdk"),
      "@wfn/cli": workspaceVersion("cli"),
      ...Object.fromEntries(PACKAGES.map((name) => [name, packageVersion(name) ?? "not installed"])),
    },
  };
}
