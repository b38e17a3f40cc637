// The WIT world functions are built against, as the sdk ships it.
import { createHash } from "node:crypto";
import { readFile } from "node:fs/promises";
import { join } from "node:path";

export interface World {
  /** Folder with function.wit and deps/ (for componentize-js). */
  witDir: string;
  /** The whole world as one WIT source (dependencies as nested packages), for wasm-tools. */
  source: string;
  /** Changes whenever any WIT file changes. */
  fingerprint: string;
}

const worlds = new Map<string, Promise<World>>();

/** Reads the world from an sdk folder (cached per folder). */
export function loadWorld(sdkDir: string): Promise<World> {
  let known = worlds.get(sdkDir);
  if (known === undefined) {
    known = (async () => {
      const witDir = join(sdkDir, "wit");
      const main = await readFile(join(witDir, "function.wit"), "utf8");
      const environment = await readFile(join(witDir, "deps", "cli", "environment.wit"), "utf8");
      const nested = environment.replace(/^\s*package\s+([^;\s]+)\s*;/m, "package $1 {") + "\n}\n";
      return {
        witDir,
        source: `${main}\n${nested}`,
        fingerprint: createHash("sha256").update(main).update("\0").update(environment).digest("hex"),
      };
    })();
    worlds.set(sdkDir, known);
  }
  return known;
}
