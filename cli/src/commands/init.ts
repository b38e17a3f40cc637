// wfn init <dir> — scaffold a project that builds as-is.
import { mkdir, readdir, readFile, writeFile } from "node:fs/promises";
import { basename, dirname, join, relative, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { parseArgs } from "node:util";
import { cyan, dim, say, shown } from "../ui.js";
import { UsageError } from "../errors.js";

export const initHelp = `Usage: wfn init <dir> [options]

Creates a new project in <dir>: wfn.json, src/index.ts (a hello function),
package.json, tsconfig.json, README.md and .gitignore.

Options:
  --force       write into a folder that is not empty (existing files are kept)
  -h, --help    show this help`;

const TEMPLATE_DIR = fileURLToPath(new URL("../../templates/default/", import.meta.url));
/** npm drops files named .gitignore from packages, so the template calls it gitignore. */
const RENAMES: Record<string, string> = { gitignore: ".gitignore" };

export async function initCommand(args: string[]): Promise<number> {
  const { values, positionals } = parseArgs({ args, allowPositionals: true, options: { force: { type: "boolean", default: false } } });
  const target = positionals[0];
  if (target === undefined) throw new UsageError("where? usage: wfn init <dir>");
  const dir = resolve(target);
  const existing = await readdir(dir).catch(() => [] as string[]);
  if (existing.length > 0 && !values.force) {
    throw new UsageError(`${shown(dir)} is not empty; choose a new folder, or add --force to add the missing files`);
  }
  const name = basename(dir).toLowerCase().replace(/[^a-z0-9-_.]/g, "-") || "wfn-app";
  const written: string[] = [];
  for (const file of await listFiles(TEMPLATE_DIR)) {
    const target = join(dir, RENAMES[file] ?? file);
    if (existing.length > 0 && (await readFile(target).then(() => true, () => false))) continue;
    const text = (await readFile(join(TEMPLATE_DIR, file), "utf8")).replaceAll("{{name}}", name);
    await mkdir(dirname(target), { recursive: true });
    await writeFile(target, text, { flag: "wx" });
    written.push(relative(dir, target));
  }
  say(`${cyan("wfn init")} created ${shown(dir)}`);
  for (const file of written.sort()) say(dim(`  ${file}`));
  const where = shown(dir);
  say(`\nnext:\n  wfn build ${where}\n  wfn serve ${where}\n  curl http://127.0.0.1:8787/`);
  return 0;
}

async function listFiles(root: string, prefix = ""): Promise<string[]> {
  const files: string[] = [];
  for (const entry of await readdir(join(root, prefix), { withFileTypes: true })) {
    const path = join(prefix, entry.name);
    if (entry.isDirectory()) files.push(...(await listFiles(root, path)));
    else files.push(path);
  }
  return files;
}
