// Type-checks a project's TypeScript entries with `tsc --noEmit` before they
// are bundled, so type errors fail the build with file and line. The
// project's own tsconfig.json is honoured; @wfn/sdk types come from the CLI
// when the project has not installed the sdk.
import { execFile } from "node:child_process";
import { access, mkdir, writeFile } from "node:fs/promises";
import { dirname, join, relative } from "node:path";
import { fileURLToPath } from "node:url";
import { promisify } from "node:util";
import { CLI_SDK_DIR, type SourceProblem } from "./bundle.js";

const run = promisify(execFile);
const TSC = join(dirname(fileURLToPath(import.meta.resolve("typescript/package.json"))), "bin", "tsc");
const DIAGNOSTIC = /^(.+?)\((\d+),(\d+)\): error (TS\d+): (.*)$/;

/** The type checker's findings: empty when the entries type-check. */
export async function typecheck(projectDir: string, entries: string[], workDir: string): Promise<SourceProblem[]> {
  const typed = entries.filter((entry) => /\.(ts|tsx|mts|cts)$/.test(entry));
  if (typed.length === 0) return [];
  const hasOwnConfig = await exists(join(projectDir, "tsconfig.json"));
  const hasOwnSdk = await exists(join(projectDir, "node_modules", "@wfn", "sdk", "package.json"));
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
  const config = {
    ...(hasOwnConfig ? { extends: toProject("tsconfig.json") } : {}),
    compilerOptions,
    files: typed.map(toProject),
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
      .map((m) => ({ file: relative(projectDir, join(projectDir, m[1]!)), line: Number(m[2]), column: Number(m[3]), message: `${m[5]} (${m[4]})` }));
    if (problems.length > 0) return problems;
    return [{ message: `type checking failed: ${output.trim() || (error as Error).message}` }];
  }
}

async function exists(path: string): Promise<boolean> {
  try {
    await access(path);
    return true;
  } catch {
    return false;
  }
}
