// Reads a project's wfn.json: the single place the CLI turns that file into
// resolved function configurations, with errors that name the file and field.
import { access, readFile } from "node:fs/promises";
import { join, relative, resolve } from "node:path";
import { CliError, UsageError, type ErrorStyle } from "../errors.js";
import {
  checkAppConfig,
  checkFunctionConfig,
  didYouMean,
  resolveFunctionConfig,
  resolveQueueConfig,
  type QueueConfig,
  type QueueConfigInput,
  validateProjectDocument,
  type FunctionConfig,
  type FunctionConfigInput,
} from "@wfn/runtime";

export const PROJECT_FILE = "wfn.json";

/** A wfn project on disk. */
export interface Project {
  /** Absolute path of the project folder. */
  dir: string;
  /** Absolute path of its wfn.json. */
  file: string;
  functions: Map<string, FunctionConfig>;
  /** The app's queues (`queues` in wfn.json), defaults filled in. */
  queues: Record<string, QueueConfig>;
}

/** One thing wrong with a project file. */
export interface ProjectProblem {
  /** Dotted path in the file (`functions.hello.memoryMB`), empty for the whole file. */
  field: string;
  message: string;
}

/** wfn.json is missing, unreadable or invalid. */
export class ProjectError extends CliError {
  override name = "ProjectError";
  constructor(
    readonly file: string,
    readonly problems: ProjectProblem[],
  ) {
    super(problems.map((p) => `${file}: ${p.field ? `${p.field}: ` : ""}${p.message}`).join("\n"));
  }

  /** One problem with the whole file is its own sentence; several are listed under "invalid <file>". */
  #wholeFile(): ProjectProblem | undefined {
    const [only] = this.problems;
    return this.problems.length === 1 && only !== undefined && only.field === "" ? only : undefined;
  }

  override headline(): string {
    const whole = this.#wholeFile();
    return whole === undefined ? `invalid ${this.file}` : `${this.file}: ${whole.message}`;
  }

  override details(style: ErrorStyle): string[] {
    if (this.#wholeFile() !== undefined) return [];
    return this.problems.map((problem) => `${problem.field ? `${style.bold(problem.field)}: ` : ""}${problem.message}`);
  }
}

/** Loads and validates `<dir>/wfn.json`. */
export async function loadProject(dir: string): Promise<Project> {
  const root = resolve(dir);
  const file = join(root, PROJECT_FILE);
  const fromHere = relative(process.cwd(), file);
  const shown = fromHere.startsWith("..") ? file : fromHere;
  let text: string;
  try {
    text = await readFile(file, "utf8");
  } catch {
    throw new ProjectError(shown, [{ field: "", message: `not found (create a project with \`wfn init ${fromHere.startsWith("..") ? root : relative(process.cwd(), root) || "."}\`)` }]);
  }
  let document: unknown;
  try {
    document = JSON.parse(text);
  } catch (error) {
    throw new ProjectError(shown, [{ field: "", message: `not valid JSON: ${(error as Error).message}` }]);
  }
  const schemaProblems = validateProjectDocument(document);
  if (schemaProblems.length > 0) {
    throw new ProjectError(shown, schemaProblems.map((p) => ({ field: p.path, message: p.message })));
  }
  const { functions: inputs, queues: queueInputs = {} } = document as { functions: Record<string, FunctionConfigInput>; queues?: Record<string, QueueConfigInput> };
  const queues: Record<string, QueueConfig> = {};
  for (const [name, input] of Object.entries(queueInputs)) queues[name] = resolveQueueConfig(name, input);
  const functions = new Map<string, FunctionConfig>();
  const problems: ProjectProblem[] = [];
  for (const [name, input] of Object.entries(inputs)) {
    const config = resolveFunctionConfig(input);
    for (const problem of checkFunctionConfig(config)) {
      problems.push({ field: `functions.${name}.${problem.field}`, message: problem.message });
    }
    try {
      await access(join(root, config.entry));
    } catch {
      problems.push({ field: `functions.${name}.entry`, message: `file "${config.entry}" does not exist` });
    }
    functions.set(name, config);
  }
  for (const problem of checkAppConfig(functions, queues)) {
    problems.push({ field: problem.function === undefined ? problem.field : `functions.${problem.function}.${problem.field}`, message: problem.message });
  }
  if (problems.length > 0) throw new ProjectError(shown, problems);
  return { dir: root, file, functions, queues };
}

/**
 * The functions an `--only` option names (given once or more, each a name
 * or a comma-separated list), in the order given; every function of the
 * project when it was not given.
 *
 * @throws UsageError naming a function the project does not have.
 */
export function selectFunctions(project: Project, only: readonly string[] | undefined): string[] {
  const known = [...project.functions.keys()];
  if (only === undefined) return known;
  const names = [...new Set(only.flatMap((list) => list.split(",")).map((name) => name.trim()).filter(Boolean))];
  if (names.length === 0) throw new UsageError("--only needs a function name");
  for (const name of names) {
    if (!project.functions.has(name)) throw new UsageError(`no function "${name}" in ${project.file}${didYouMean(name, known)} (functions: ${known.join(", ")})`);
  }
  return names;
}
