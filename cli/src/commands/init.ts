// wfn init <dir> — scaffold a project that builds as-is.
import { readFileSync, realpathSync } from "node:fs";
import { mkdir, readdir, readFile, writeFile } from "node:fs/promises";
import { basename, dirname, join, relative, resolve, sep } from "node:path";
import { fileURLToPath } from "node:url";
import { parseArgs } from "node:util";
import { CLI_SDK_DIR } from "../build/bundle.js";
import { cyan, dim, say, shown } from "../ui.js";
import { UsageError } from "../errors.js";

export const initHelp = `Usage: wfn init <dir> [options]

Creates a new project in <dir>: wfn.json, src/index.ts (a hello function),
package.json, tsconfig.json, README.md and .gitignore. The package.json
names this wfn and its SDK as devDependencies, so \`npm install\` in <dir>
gives the project its own \`wfn\` (for npm scripts and \`npx --no wfn\`),
the SDK's types for your editor and the wfn.json schema.

Options:
  --force       write into a folder that is not empty (existing files are kept)
  -h, --help    show this help`;

const TEMPLATE_DIR = fileURLToPath(new URL("../../templates/default/", import.meta.url));
const CLI_DIR = fileURLToPath(new URL("../../", import.meta.url));

/**
 * How a new project depends on a package of wfn: the version, when this wfn
 * was installed as a package; the folder itself (\`file:\`, which npm links),
 * when it runs from a checkout of the repository, whose packages are not on
 * any registry.
 */
function dependencySpec(dir: string): string {
  const real = realpathSync(dir);
  if (!real.split(sep).includes("node_modules")) return `file:${real}`;
  const { version } = JSON.parse(readFileSync(join(real, "package.json"), "utf8")) as { version: string };
  return `^${version}`;
}

/** The template's package.json with this wfn's packages as devDependencies. */
function withDevDependencies(text: string): string {
  const manifest = JSON.parse(text) as { devDependencies?: Record<string, string> };
  manifest.devDependencies = { ...manifest.devDependencies, "@wfn/cli": dependencySpec(CLI_DIR), "@wfn/sdk": dependencySpec(CLI_SDK_DIR) };
  return `${JSON.stringify(manifest, null, 2)}\n`;
}

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
    const template = (await readFile(join(TEMPLATE_DIR, file), "utf8")).replaceAll("{{name}}", name);
    const text = file === "package.json" ? withDevDependencies(template) : template;
    await mkdir(dirname(target), { recursive: true });
    await writeFile(target, text, { flag: "wx" });
    written.push(relative(dir, target));
  }
  say(`${cyan("wfn init")} created ${shown(dir)}`);
  for (const file of written.sort()) say(dim(`  ${file}`));
  const where = shown(dir);
  say(`\nnext:\n  cd ${where}\n  npm install      ${dim("# links wfn and its SDK into the project: npm scripts, editor types, the wfn.json schema")}\n  npm run dev      ${dim("# serve on http://127.0.0.1:8787, rebuilding on every save")}\n  curl http://127.0.0.1:8787/`);
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
