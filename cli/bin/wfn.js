#!/usr/bin/env node
// Entry point of the `wfn` command; the work happens in dist/main.js.
const [major, minor] = process.versions.node.split(".").map(Number);
if (major < 22 || (major === 22 && minor < 19)) {
  process.stderr.write(`wfn needs Node.js 22.19 or newer (24 recommended); this is Node.js ${process.versions.node}.\n`);
  process.exit(1);
}
const { main } = await import("../dist/main.js");
process.exitCode = await main(process.argv.slice(2));
