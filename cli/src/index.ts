// @wfn/cli as a library: the build pipeline, for tools and tests.
export { buildProject, staleFunctions, pruneBuildDir, BuildError, DEFAULT_OUT_DIR } from "./build/build.js";
export type { BuildOptions, BuildProgress, BuiltFunction } from "./build/build.js";
export { loadProject, ProjectError, PROJECT_FILE } from "./project/project.js";
export type { Project, ProjectProblem } from "./project/project.js";
export { main } from "./main.js";
