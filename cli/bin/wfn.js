#!/usr/bin/env node
// Entry point of the `wfn` command; the work happens in dist/main.js.
import { requireNode } from "./require-node.js";

requireNode();
// node:sqlite (the host's store) is stable in Node 24 but warns as experimental in 22.
const emitWarning = process.emitWarning;
process.emitWarning = function (warning, ...rest) {
  const type = typeof rest[0] === "string" ? rest[0] : rest[0]?.type;
  if (type === "ExperimentalWarning" && String(warning).includes("SQLite")) return;
  return emitWarning.call(process, warning, ...rest);
};
const { main } = await import("../dist/main.js");
process.exitCode = await main(process.argv.slice(2));
