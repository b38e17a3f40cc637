// Components a host fetched from a shared store, kept in its cache
// directory by SHA-256: a host fetches each deployed component from the
// store once, not every time it prepares a version (at start, after a
// drain). A file whose bytes do not hash to its name is fetched again.
import { createHash, randomUUID } from "node:crypto";
import { mkdir, readFile, rename, rm, writeFile } from "node:fs/promises";
import { join } from "node:path";

/** The bytes of component `sha256`: from `dir` when kept there, else from `fetch`, then kept. */
export async function cachedComponent(dir: string, sha256: string, fetch: () => Promise<Uint8Array | undefined>): Promise<Uint8Array | undefined> {
  if (!/^[0-9a-f]{64}$/.test(sha256)) return fetch();
  const file = join(dir, `${sha256}.wasm`);
  const kept = await readFile(file).catch(() => undefined);
  if (kept !== undefined && createHash("sha256").update(kept).digest("hex") === sha256) return kept;
  const bytes = await fetch();
  if (bytes === undefined) return undefined;
  // Written aside and renamed: a host that dies mid-write leaves no torn file under the name.
  const partial = `${file}.${randomUUID()}.partial`;
  try {
    await mkdir(dir, { recursive: true });
    await writeFile(partial, bytes);
    await rename(partial, file);
  } catch {
    // A cache that cannot be written (a full or read-only disk) only costs another fetch later.
    await rm(partial, { force: true }).catch(() => undefined);
  }
  return bytes;
}
