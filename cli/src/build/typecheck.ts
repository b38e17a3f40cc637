// Type-checks a project's TypeScript entries with `tsc --noEmit` before they
// are bundled, so type errors fail the build with file and line. The
// project's own tsconfig.json is honoured; what the project has not
// installed comes from the CLI: @wfn/sdk's types, AWS Lambda's event types
// (`import type { ... } from "aws-lambda"`, as unchanged Lambda handlers
// have) and the Node.js globals a function does get (`process.env`,
// `Buffer`). An import of a Node.js module gets wfn's explanation, not the
// checker's advice to install @types/node.
import { execFile } from "node:child_process";
import { access, mkdir, readlink, rm, symlink, writeFile } from "node:fs/promises";
import { dirname, join, relative } from "node:path";
import { fileURLToPath } from "node:url";
import { promisify } from "node:util";
import { CLI_SDK_DIR, isNodeBuiltin, isPolyfilledBuiltin, nodeModuleExplanation, type SourceProblem } from "./bundle.js";

const run = promisify(execFile);
const TSC = join(dirname(fileURLToPath(import.meta.resolve("typescript/package.json"))), "bin", "tsc");
const DIAGNOSTIC = /^(.+?)\((\d+),(\d+)\): error (TS\d+): (.*)$/;
/** Where the CLI's own copies of type packages are. */
const typesOf = (name: string) => dirname(fileURLToPath(import.meta.resolve(`${name}/package.json`)));
/**
 * Declarations for what the project has not installed: the Node.js globals a
 * function has (the buffer package stands in for Node's Buffer) without
 * @types/node, AWS Lambda's types without @types/aws-lambda. Ambient, so a
 * project's own tsconfig \`paths\` stay as they are.
 */
function supplied(nodeTypes: boolean, lambdaTypes: boolean): string {
  const lines = ["// Written by wfn build for the type check: what wfn supplies that this project has not installed."];
  if (!nodeTypes) {
    const buffer = JSON.stringify(join(typesOf("buffer"), "index"));
    lines.push("declare var process: { env: Record<string, string | undefined> };", `declare var Buffer: typeof import(${buffer}).Buffer;`, `type Buffer = import(${buffer}).Buffer;`);
  }
  // A module declaration may re-export only a package name: LAMBDA_TYPES, linked beside this file.
  if (!lambdaTypes) lines.push(`declare module "aws-lambda" {`, `  export * from "${LAMBDA_TYPES}";`, "}");
  return `${lines.join("\n")}\n`;
}

const LAMBDA_TYPES = "wfn-supplied-aws-lambda";

/** `<workDir>/node_modules/<name>`, a link to `target` (made again when it points elsewhere). */
async function linkPackage(workDir: string, name: string, target: string): Promise<void> {
  const link = join(workDir, "node_modules", name);
  if ((await readlink(link).catch(() => undefined)) === target) return;
  await rm(link, { force: true, recursive: true });
  await mkdir(dirname(link), { recursive: true });
  await symlink(target, link, "dir");
}

/** "Cannot find module 'fs'" (TS2307), "Cannot find name 'node:fs'. Do you need to install type definitions for node?" (TS2591). */
const MISSING_MODULE = /^Cannot find (?:module|name) '([^']+)'/;

/** The type checker's findings: empty when the entries type-check. */
export async function typecheck(projectDir: string, entries: string[], workDir: string): Promise<SourceProblem[]> {
  const typed = entries.filter((entry) => /\.(ts|tsx|mts|cts)$/.test(entry));
  if (typed.length === 0) return [];
  const hasOwnConfig = await exists(join(projectDir, "tsconfig.json"));
  const hasOwnSdk = await exists(join(projectDir, "node_modules", "@wfn", "sdk", "package.json"));
  const hasOwnNodeTypes = await exists(join(projectDir, "node_modules", "@types", "node", "package.json"));
  const hasOwnLambdaTypes = await exists(join(projectDir, "node_modules", "@types", "aws-lambda", "package.json"));
  await mkdir(workDir, { recursive: true });
  const toProject = (path: string) => relative(workDir, join(projectDir, path));
  const compilerOptions: Record<string, unknown> = {
    noEmit: true,
    skipLibCheck: true,
    allowImportingTsExtensions: true,
    ...(hasOwnConfig
      ? {}
      : {
          target: "ES2022",
          module: "ESNext",
          moduleResolution: "Bundler",
          strict: true,
          lib: ["ES2023", "DOM", "DOM.Iterable"],
          types: [],
        }),
    ...(hasOwnSdk
      ? {}
      : {
          paths: {
            "@wfn/sdk": [join(CLI_SDK_DIR, "dist", "index.d.ts")],
            "@wfn/sdk/*": [join(CLI_SDK_DIR, "dist", "*")],
          },
        }),
  };
  await writeFile(join(workDir, "wfn-supplied.d.ts"), supplied(hasOwnNodeTypes, hasOwnLambdaTypes));
  if (!hasOwnLambdaTypes) await linkPackage(workDir, LAMBDA_TYPES, typesOf("@types/aws-lambda"));
  const config = {
    ...(hasOwnConfig ? { extends: toProject("tsconfig.json") } : {}),
    compilerOptions,
    files: [...typed.map(toProject), "wfn-supplied.d.ts"],
    include: [],
  };
  const configPath = join(workDir, "tsconfig.typecheck.json");
  await writeFile(configPath, JSON.stringify(config, null, 2));
  try {
    await run(process.execPath, [TSC, "-p", configPath, "--pretty", "false"], { cwd: projectDir, maxBuffer: 16 * 1024 * 1024 });
    return [];
  } catch (error) {
    const output = `${(error as { stdout?: string }).stdout ?? ""}`;
    const problems = output
      .split("\n")
      .map((line) => DIAGNOSTIC.exec(line.trim()))
      .filter((match): match is RegExpExecArray => match !== null)
      .map((m) => ({ file: relative(projectDir, join(projectDir, m[1]!)), line: Number(m[2]), column: Number(m[3]), message: explained(m[5]!, m[4]!) }));
    if (problems.length > 0) return problems;
    return [{ message: `type checking failed: ${output.trim() || (error as Error).message}` }];
  }
}

/** The checker's message, or wfn's own where it says more (an import of a Node.js module). */
function explained(message: string, code: string): string {
  const missing = MISSING_MODULE.exec(message)?.[1];
  if (missing !== undefined && isPolyfilledBuiltin(missing)) {
    return `"${missing}" is bundled into the function (from its browser implementation), but TypeScript has no types for it: npm install --save-dev @types/node`;
  }
  if (missing !== undefined && isNodeBuiltin(missing)) return nodeModuleExplanation(missing);
  return `${message} (${code})`;
}

async function exists(path: string): Promise<boolean> {
  try {
    await access(path);
    return true;
  } catch {
    return false;
  }
}
