// Finds installed packages (folder and version) as seen from bench/, even
// when a package's `exports` map hides its package.json.
import { existsSync, readFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";

/** The folder of an installed package (one without an entry point too, such as a binary-only package). */
export function packageDir(name) {
  let dir;
  try {
    dir = dirname(fileURLToPath(import.meta.resolve(name)));
  } catch {
    return nodeModulesDir(name);
  }
  for (;;) {
    try {
      if (JSON.parse(readFileSync(join(dir, "package.json"), "utf8")).name === name) return dir;
    } catch {
      // keep walking up
    }
    const parent = dirname(dir);
    if (parent === dir) throw new Error(`cannot find the folder of ${name}`);
    dir = parent;
  }
}

/** The installed version of a package, or undefined when it is not installed. */
export function packageVersion(name) {
  try {
    return JSON.parse(readFileSync(join(packageDir(name), "package.json"), "utf8")).version;
  } catch {
    return undefined;
  }
}

/** Node's lookup by hand: <dir>/node_modules/<name>, from here upwards. */
function nodeModulesDir(name) {
  for (let dir = dirname(fileURLToPath(import.meta.url)); ; dir = dirname(dir)) {
    const candidate = join(dir, "node_modules", name);
    if (existsSync(join(candidate, "package.json"))) return candidate;
    if (dirname(dir) === dir) throw new Error(`${name} is not installed`);
  }
}
