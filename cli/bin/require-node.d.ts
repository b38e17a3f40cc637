/** What to tell a user of Node.js `version` before running `what`, or undefined when that version will do. */
export function nodeProblem(what: string, version?: string, execPath?: string): string | undefined;
/** Exits with code 1 and the commands to get Node.js 24 when this Node.js is older than 22.19. */
export function requireNode(what?: string): void;
