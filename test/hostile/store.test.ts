// The store in a hostile world: hosts killed with SIGKILL (also as a
// container's pid 1), what a killed host leaves behind, a disk that fills up.
// Real hosts, real processes, real files.
import { spawn, spawnSync, type ChildProcess } from "node:child_process";
import { createHash, randomUUID } from "node:crypto";
import { existsSync, mkdtempSync, rmSync } from "node:fs";
import { appendFile, mkdtemp, readdir, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createHost, readArtifact, serve, silentSink, type Artifact, type HostOptions, type QueueStats, type RunningServer } from "@wfn/runtime";
import { wfn } from "../helpers/cli.js";
import { eventually } from "../helpers/collector.js";
import { startHost } from "../helpers/host.js";
import { CACHE_DIR, HELLO_BUILD, WFN } from "../helpers/paths.js";

const IN_USE = /the data directory \S+ is in use by another wfn host; give each host its own --data-dir/;

let hello: Artifact;
beforeAll(async () => {
  hello = await readArtifact(join(HELLO_BUILD, "hello"));
});

const temp: string[] = [];
const spawned = new Set<ChildProcess>();
/** Hosts started by a wrapper, which killing the wrapper would not stop. */
const hostPids = new Set<number>();
afterAll(async () => {
  for (const pid of hostPids) {
    try {
      process.kill(pid, "SIGKILL");
    } catch {
      // already gone
    }
  }
  for (const child of spawned) child.kill("SIGKILL");
  await Promise.all([...spawned].map((child) => exited(child)));
  await Promise.all(temp.map((dir) => rm(dir, { recursive: true, force: true })));
});

async function tempDir(prefix: string): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), prefix));
  temp.push(dir);
  return dir;
}

function exited(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve();
  return new Promise((resolve) => child.once("close", () => resolve()));
}

/** A `wfn serve` process on `dataDir` with no project (it serves what the store holds). */
interface HostProcess {
  /** What was spawned: the host itself, or the wrapper that started it. */
  child: ChildProcess;
  output(): string;
  /** The host's URL once it serves; rejects with its output if it exits first. */
  serving: Promise<string>;
}

/** Runs `wrapper` followed by the host's command line (or the host itself); `cwd` holds no project. */
function spawnHost(wrapper: string[], dataDir: string, cwd: string): HostProcess {
  const [command, ...args] = [...wrapper, process.execPath, WFN, "serve", "--port", "0", "--data-dir", dataDir, "--executors", "1"];
  const child = spawn(command!, args, { cwd, env: { ...process.env, WFN_CACHE_DIR: CACHE_DIR, NO_COLOR: "1" } });
  spawned.add(child);
  let output = "";
  const serving = new Promise<string>((resolve, reject) => {
    const onData = (chunk: Buffer) => {
      output += chunk.toString();
      const match = output.match(/serving \d+ functions? on (http:\/\/\S+)/);
      if (match) resolve(match[1]!);
    };
    child.stdout!.on("data", onData);
    child.stderr!.on("data", onData);
    child.on("close", (code, signal) => reject(new Error(`the host exited (${signal ?? code}) before serving:\n${output}`)));
  });
  serving.catch(() => undefined); // awaited by the test that needs it
  return { child, output: () => output, serving };
}

/** The pid of `parent`'s only child process. */
async function childPid(parent: number): Promise<number> {
  const children = (await readFile(`/proc/${parent}/task/${parent}/children`, "utf8")).trim().split(/\s+/);
  expect(children).toHaveLength(1);
  return Number(children[0]);
}

/** An in-process host on `dataDir`, without HTTP. */
const openHost = (dataDir: string, options: HostOptions = {}) => createHost({ dataDir, cacheDir: CACHE_DIR, executors: 1, log: silentSink, ...options });

/** A process's state letter (`R`, `S`, `Z` for a zombie...), or undefined when it is gone. */
async function processState(pid: number): Promise<string | undefined> {
  try {
    return (await readFile(`/proc/${pid}/stat`, "utf8")).replace(/^.*\) /s, "")[0];
  } catch {
    return undefined;
  }
}

/** Whether this machine lets us start a process as pid 1 of a new pid namespace (root, util-linux unshare). */
const pidNamespaces = spawnSync("unshare", ["--pid", "--fork", "true"]).status === 0;

describe("the data directory lock", () => {
  it.each([
    ["pid 1", 1],
    ["this test's own pid", process.pid],
  ])("ignores a wfn.lock pid file an older host left, even one naming a live process (%s)", async (_, pid) => {
    const dataDir = await tempDir("wfn-legacy-lock-");
    await writeFile(join(dataDir, "wfn.lock"), String(pid));
    const host = await openHost(dataDir);
    await host.close();
    expect(existsSync(join(dataDir, "wfn.lock"))).toBe(false);
  });

  it("refuses a second host in the same process, and takes the next one once the first is closed", async () => {
    const dataDir = await tempDir("wfn-lock-same-");
    const first = await startHost({ dataDir, executors: 1 });
    await expect(openHost(dataDir)).rejects.toThrow(IN_USE);
    // A refused attempt closes its own handle on the lock; the first host still holds it.
    await expect(openHost(dataDir)).rejects.toThrow(IN_USE);
    await first.server.close();
    const next = await startHost({ dataDir, executors: 1 });
    expect((await next.get("/_wfn/health")).status).toBe(200);
    await next.server.close();
  });

  it("refuses a second host process while one runs, and starts a new one right after the first is killed, though its pid still exists", async () => {
    const dataDir = await tempDir("wfn-lock-kill-");
    const cwd = await tempDir("wfn-lock-cwd-");
    // The host is started by a parent that never reaps it (`exec sleep`), so once killed it
    // stays a zombie: dead, holding nothing, but its pid still answers kill(pid, 0).
    const first = spawnHost(["sh", "-c", '"$@" & echo "host pid $!"; exec sleep infinity', "sh"], dataDir, cwd);
    const url = await first.serving;
    const pid = Number(first.output().match(/host pid (\d+)/)![1]);
    hostPids.add(pid);
    expect((await fetch(`${url}/_wfn/health`)).status).toBe(200);

    const second = await wfn(["serve", "--port", "0", "--data-dir", dataDir], { cwd });
    expect(second.code).toBe(1);
    expect(second.stderr).toMatch(IN_USE);
    await expect(openHost(dataDir)).rejects.toThrow(IN_USE);

    process.kill(pid, "SIGKILL");
    await eventually(async () => ((await processState(pid)) === "Z" ? true : undefined), 10_000, "the killed host to be a zombie");
    const restarted = spawnHost([], dataDir, cwd);
    expect((await fetch(`${await restarted.serving}/_wfn/health`)).status).toBe(200);
    restarted.child.kill("SIGINT");
    await exited(restarted.child);
    expect(restarted.child.exitCode).toBe(0);
  });

  const asContainer = `lets a host that was pid 1 of its container (a pid namespace) start again as pid 1 after a kill -9${pidNamespaces ? "" : " (skipped: unshare --pid --fork is not permitted here)"}`;
  it.skipIf(!pidNamespaces)(asContainer, async () => {
    const dataDir = await tempDir("wfn-lock-pid1-");
    const cwd = await tempDir("wfn-lock-cwd-");
    const asPid1 = async () => {
      // --kill-child: should the test stop unshare, the host goes with it.
      const started = spawnHost(["unshare", "--pid", "--fork", "--kill-child"], dataDir, cwd);
      const url = await started.serving;
      const pid = await childPid(started.child.pid!);
      // NSpid lists the host's pid in each namespace, innermost last: 1 in its own.
      expect((await readFile(`/proc/${pid}/status`, "utf8")).match(/^NSpid:.*\s(\d+)$/m)?.[1]).toBe("1");
      expect((await fetch(`${url}/_wfn/health`)).status).toBe(200);
      return { started, pid };
    };
    const first = await asPid1();
    process.kill(first.pid, "SIGKILL");
    await exited(first.started.child);

    const second = await asPid1();
    process.kill(second.pid, "SIGINT");
    await exited(second.started.child);
    expect(second.started.output()).toContain("stopping");
    expect(second.started.child.exitCode).toBe(0);
  });
});

describe("what a killed deploy left in the data directory", () => {
  it("is removed when a host opens it, and the deployed components stay and serve", async () => {
    const dataDir = await tempDir("wfn-unfinished-");
    const first = await startHost({ dataDir, functions: [hello], executors: 1 });
    await first.server.close();
    const components = join(dataDir, "components");
    const deployed = await readdir(components);
    expect(deployed).toEqual([`${hello.manifest.component.sha256}.wasm`]);
    // What FileBlobs.put writes before its rename, had the host been killed in between.
    await writeFile(join(components, `${deployed[0]}.tmp-4242-${randomUUID()}`), "the first bytes of a component");
    await writeFile(join(components, `${"0".repeat(64)}.wasm.tmp-4243-${randomUUID()}`), "");

    const second = await startHost({ dataDir, executors: 1 });
    expect(await readdir(components)).toEqual(deployed);
    const bytes = await readFile(join(components, deployed[0]!));
    expect(createHash("sha256").update(bytes).digest("hex")).toBe(hello.manifest.component.sha256);
    expect((await second.get("/")).status).toBe(200);
    await second.server.close();
  });
});

/** Why a tmpfs cannot be mounted here (not root, no CAP_SYS_ADMIN...), or undefined when it can. */
function tmpfsUnavailable(): string | undefined {
  const probe = mkdtempSync(join(tmpdir(), "wfn-tmpfs-probe-"));
  try {
    const mount = spawnSync("mount", ["-t", "tmpfs", "-o", "size=64k", "tmpfs", probe], { encoding: "utf8" });
    if (mount.status !== 0) return `mount -t tmpfs is not permitted here: ${(mount.stderr || mount.error?.message || "").trim()}`;
    spawnSync("umount", [probe]);
    return undefined;
  } finally {
    rmSync(probe, { recursive: true, force: true });
  }
}

const noTmpfs = tmpfsUnavailable();
const FULL = /^the host's data directory \S+ is full \(no space left on its disk\); free space there, then retry$/;

describe.skipIf(noTmpfs !== undefined)(`a full disk${noTmpfs === undefined ? "" : ` (skipped: ${noTmpfs})`}`, () => {
  // A 4 MiB tmpfs: room for the store, not for a 12 MB component.
  let disk: string;
  let dataDir: string;
  let server: RunningServer;
  const filler = () => join(disk, "filler");

  beforeAll(async () => {
    disk = await tempDir("wfn-full-disk-");
    const mount = spawnSync("mount", ["-t", "tmpfs", "-o", "size=4m", "tmpfs", disk], { encoding: "utf8" });
    expect(mount.stderr).toBe("");
    dataDir = join(disk, "data");
    server = await serve(await openHost(dataDir, { queues: { jobs: {} } }), { port: 0 });
  });
  afterAll(async () => {
    await server?.close();
    if (disk !== undefined) spawnSync("umount", [disk]);
  });

  /** Takes every byte the disk has left. */
  async function fillDisk(): Promise<void> {
    for (const chunk of [65_536, 4096, 1]) {
      try {
        for (;;) await appendFile(filler(), Buffer.alloc(chunk));
      } catch (error) {
        expect((error as NodeJS.ErrnoException).code).toBe("ENOSPC");
      }
    }
  }

  const send = (body: string) => fetch(`${server.url}/_wfn/queues/jobs/messages`, { method: "POST", body: JSON.stringify({ body }) });

  it("answers a queue send with 507 and says the data directory is full; sends work again once there is space", async () => {
    expect((await send("before")).status).toBe(201);
    await fillDisk();
    const refused = await send("x".repeat(100_000));
    expect(refused.status).toBe(507);
    const answer = (await refused.json()) as { errorType: string; errorMessage: string };
    expect(answer.errorMessage).toMatch(FULL);
    expect(answer.errorMessage).toContain(dataDir);
    expect(answer.errorType).toBe("ServiceException");

    await rm(filler());
    expect((await send("after")).status).toBe(201);
    const { queues } = (await (await fetch(`${server.url}/_wfn/queues`)).json()) as { queues: QueueStats[] };
    expect(queues.find((queue) => queue.name === "jobs")?.visible).toBe(2);
  });

  it("answers a deploy whose component does not fit with 507, and leaves no partial file behind", async () => {
    const form = new FormData();
    form.append("hello/manifest.json", new Blob([JSON.stringify(hello.manifest)]), "manifest.json");
    form.append("hello/component.wasm", new Blob([hello.component as BlobPart]), "component.wasm");
    const refused = await fetch(`${server.url}/_wfn/deployments`, { method: "POST", body: form });
    expect(refused.status).toBe(507);
    // The upload is received beside the store, in the data directory's uploads folder.
    expect(((await refused.json()) as { errorMessage: string }).errorMessage).toMatch(/^no space left on the disk of \S+\/uploads, where uploads are received; free space there, then retry$/);
    expect(await readdir(join(dataDir, "components"))).toEqual([]);
    expect((await fetch(`${server.url}/_wfn/functions/hello`)).status).toBe(404);
  });
});
