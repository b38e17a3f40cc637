// watchTree, on the real file system: it must keep seeing a file an editor
// replaces by a rename, save after save (Node's recursive fs.watch on Linux
// loses it after the first), as well as new, deleted and nested files.
import { mkdir, mkdtemp, rename, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, beforeEach, expect, it } from "vitest";
import { watchTree, type TreeWatcher } from "../../cli/src/project/watch.js";

let dir: string;
let watcher: TreeWatcher | undefined;
let seen: string[];

beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), "wfn-watch-"));
  await mkdir(join(dir, "src"));
  await mkdir(join(dir, "node_modules"));
  await writeFile(join(dir, "src", "index.ts"), "v0");
  seen = [];
  watcher = watchTree(dir, (path) => /(^|\/)node_modules(\/|$)/.test(path), (path) => seen.push(path));
  await watcher.ready;
});

afterEach(async () => {
  watcher?.close();
  await rm(dir, { recursive: true, force: true });
});

/** Waits until `path` has been reported `count` times in all. */
async function reported(path: string, count: number): Promise<void> {
  const deadline = Date.now() + 5000;
  while (seen.filter((p) => p === path).length < count) {
    if (Date.now() > deadline) throw new Error(`${path} reported ${seen.filter((p) => p === path).length} times, wanted ${count}: ${seen.join(", ")}`);
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}

it("sees a file replaced by a rename, save after save, and a plain write after that", async () => {
  for (let i = 1; i <= 3; i++) {
    const before = seen.filter((p) => p === "src/index.ts").length;
    await writeFile(join(dir, "src", ".index.ts.swp"), `v${i}`);
    await rename(join(dir, "src", ".index.ts.swp"), join(dir, "src", "index.ts"));
    await reported("src/index.ts", before + 1);
  }
  const before = seen.filter((p) => p === "src/index.ts").length;
  await writeFile(join(dir, "src", "index.ts"), "plain");
  await reported("src/index.ts", before + 1);
});

it("sees new and deleted files, files in a directory made after it started, and ignores what it is told to", async () => {
  await writeFile(join(dir, "src", "new.ts"), "new");
  await reported("src/new.ts", 1);
  await rm(join(dir, "src", "new.ts"));
  await reported("src/new.ts", 2);
  await mkdir(join(dir, "src", "lib"));
  await writeFile(join(dir, "src", "lib", "util.ts"), "u");
  await reported("src/lib/util.ts", 1);
  await writeFile(join(dir, "src", "lib", "util.ts"), "u2");
  await reported("src/lib/util.ts", 2);
  await writeFile(join(dir, "node_modules", "x.js"), "x");
  await writeFile(join(dir, "wfn.json"), "{}");
  await reported("wfn.json", 1);
  expect(seen.some((p) => p.startsWith("node_modules"))).toBe(false);
});
