// npm run docs:cli — writes docs/cli.md from the CLI's own help texts (after `npm run build`).
import { writeFileSync } from "node:fs";
import { COMMANDS, HELP } from "../dist/main.js";
import { cliReference } from "../dist/reference.js";

const target = new URL("../../docs/cli.md", import.meta.url);
writeFileSync(target, cliReference(HELP, COMMANDS));
console.log(`wrote ${target.pathname}`);
