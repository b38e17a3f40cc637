// The WIT worlds functions are built against, as the sdk ships them:
// `function` (StarlingMonkey, prebuilt components) and `function-async`
// (QuickJS), one package with its WASI dependencies under deps/.
import { createHash } from "node:crypto";
import { readdir, readFile } from "node:fs/promises";
import { join, relative } from "node:path";

export interface World {
  /** Folder with the package's WIT files and deps/ (for componentize-js and componentize-qjs). */
  witDir: string;
  /** The whole package as one WIT source (dependencies as nested packages), for wasm-tools. */
  source: string;
  /** Changes whenever any WIT file changes. */
  fingerprint: string;
}

const worlds = new Map<string, Promise<World>>();

/** Reads the worlds from an sdk folder (cached per folder). */
export function loadWorld(sdkDir: string): Promise<World> {
  let known = worlds.get(sdkDir);
  if (known === undefined) {
    known = (async () => {
      const witDir = join(sdkDir, "wit");
      const files = (await readdir(witDir, { recursive: true, withFileTypes: true }))
        .filter((entry) => entry.isFile() && entry.name.endsWith(".wit"))
        .map((entry) => relative(witDir, join(entry.parentPath, entry.name)).replaceAll("\\", "/"))
        .sort();
      const hash = createHash("sha256");
      const own: string[] = [];
      const nested: string[] = [];
      for (const file of files) {
        const text = await readFile(join(witDir, file), "utf8");
        hash.update(file).update("\0").update(text).update("\0");
        if (!file.startsWith("deps/")) own.push(own.length === 0 ? text : text.replace(/^\s*package\s+[^;\s]+\s*;/m, ""));
        else nested.push(text.replace(/^\s*package\s+([^;\s]+)\s*;/m, "package $1 {") + "\n}\n");
      }
      return { witDir, source: [...own, ...nested].join("\n"), fingerprint: hash.digest("hex") };
    })();
    worlds.set(sdkDir, known);
  }
  return known;
}
