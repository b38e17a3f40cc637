// store/component-cache.ts: a component fetched from a shared store is kept
// on the host's disk by SHA-256 and fetched again only when that file is gone
// or does not hash to its name.
import { createHash } from "node:crypto";
import { mkdtemp, readdir, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, expect, it } from "vitest";
import { cachedComponent } from "../../runtime/src/store/component-cache.js";

const dirs: string[] = [];
afterEach(async () => Promise.all(dirs.splice(0).map((dir) => rm(dir, { recursive: true, force: true }))));

it("fetches a component once, then reads it from disk; a torn or altered file is fetched again", async () => {
  const dir = await mkdtemp(join(tmpdir(), "wfn-components-"));
  dirs.push(dir);
  const bytes = new TextEncoder().encode("\0asm a component");
  const sha256 = createHash("sha256").update(bytes).digest("hex");
  let fetches = 0;
  const fetch = async () => {
    fetches++;
    return bytes;
  };
  expect(Buffer.from((await cachedComponent(dir, sha256, fetch))!)).toEqual(Buffer.from(bytes));
  expect(Buffer.from((await cachedComponent(dir, sha256, fetch))!)).toEqual(Buffer.from(bytes));
  expect(fetches).toBe(1);
  expect(await readdir(dir)).toEqual([`${sha256}.wasm`]);

  await writeFile(join(dir, `${sha256}.wasm`), "not it");
  expect(Buffer.from((await cachedComponent(dir, sha256, fetch))!)).toEqual(Buffer.from(bytes));
  expect(fetches).toBe(2);

  // Missing from the store: nothing is kept.
  expect(await cachedComponent(dir, "b".repeat(64), async () => undefined)).toBeUndefined();
  expect(await readdir(dir)).toEqual([`${sha256}.wasm`]);
});
