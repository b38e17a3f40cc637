// Stops with how to get a newer Node.js when this one is older than wfn
// needs. bin/wfn.js calls it first; the repository's npm scripts run this
// file (`node cli/bin/require-node.js && ...`) so that `npm test` and
// `npm start` say so before anything else fails. Plain JavaScript that any
// Node.js with ES modules parses.
import { pathToFileURL } from "node:url";

const NEEDED = [22, 19];

/** What to tell a user of Node.js `version` before running `what`, or undefined when that version will do. */
export function nodeProblem(what, version = process.versions.node, execPath = process.execPath) {
  const [major, minor] = version.split(".").map(Number);
  if (major > NEEDED[0] || (major === NEEDED[0] && minor >= NEEDED[1])) return undefined;
  return (
    `${what} needs Node.js ${NEEDED.join(".")} or newer (24 recommended); this is Node.js ${version} (${execPath}).\n` +
    "Get Node.js 24 without changing the system's, then put it first on PATH:\n" +
    "  npm install --prefix ~/.cache/wfn-node node@24\n" +
    "  export PATH=~/.cache/wfn-node/node_modules/.bin:$PATH\n" +
    "(or `nvm install 24`, or https://nodejs.org/en/download), and run the command again.\n"
  );
}

/** Exits with code 1 and the commands to get Node.js 24 when this Node.js is older than 22.19. */
export function requireNode(what = "wfn") {
  const problem = nodeProblem(what);
  if (problem === undefined) return;
  process.stderr.write(problem);
  process.exit(1);
}

if (process.argv[1] !== undefined && import.meta.url === pathToFileURL(process.argv[1]).href) requireNode(process.argv[2]);
