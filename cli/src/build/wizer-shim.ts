// Stands in for the `wizer` binary that componentize-js spawns (its
// `wizerBin` option): same arguments, same stdin, but the pre-initialisation
// is our deterministic one (./preinit.ts).
//
// componentize-js passes the guest's sources as `--dir=<random temp dir>`
// and names that directory on stdin. The guest would remember that path in
// its heap, so it is mapped to a fixed guest path instead.
import { readFileSync, writeFileSync } from "node:fs";
import { preinitialize } from "./preinit.js";

const GUEST_SOURCES = "/wfn-init";

function main(args: string[]): number {
  let initFunc: string | undefined;
  let output: string | undefined;
  let input: string | undefined;
  let sources: string | undefined;
  const preopens: Record<string, string> = {};
  for (let i = 0; i < args.length; i++) {
    const arg = args[i]!;
    if (arg === "--init-func" || arg === "-f") initFunc = args[++i];
    else if (arg.startsWith("--init-func=")) initFunc = arg.slice("--init-func=".length);
    else if (arg.startsWith("--dir=")) sources = arg.slice("--dir=".length);
    else if (arg.startsWith("--mapdir=")) {
      const [guest, host] = arg.slice("--mapdir=".length).split("::");
      if (guest !== undefined && host !== undefined) preopens[guest] = host;
    } else if (arg.startsWith("-o=")) output = arg.slice(3);
    else if (arg === "-o") output = args[++i];
    else if (!arg.startsWith("-")) input = arg;
  }
  if (!initFunc || !output || !input) {
    process.stderr.write(`wfn wizer shim: unexpected arguments ${JSON.stringify(args)}\n`);
    return 2;
  }
  let stdin = readFileSync(0, "utf8");
  if (sources !== undefined) {
    preopens[GUEST_SOURCES] = sources;
    stdin = stdin.split(sources).join(GUEST_SOURCES);
  }
  // The prefix only shortens paths in stack traces; the guest sees paths relative to "/".
  stdin = stdin.replace(/--strip-path-prefix \S+/, "--strip-path-prefix /");
  const env: Record<string, string> = {};
  for (const [key, value] of Object.entries(process.env)) {
    if (value !== undefined && !["PWD", "OLDPWD", "SHLVL", "_", "WFN_PREINIT_STACK"].includes(key)) env[key] = value;
  }
  try {
    writeFileSync(output, preinitialize(readFileSync(input), { initFunc, env, preopens, stdin }));
    return 0;
  } catch (error) {
    // componentize-js shows this text to the user as the initialisation failure.
    process.stderr.write(`${error instanceof Error ? (process.env.WFN_PREINIT_STACK ? error.stack : error.message) : String(error)}\n`);
    return 1;
  }
}

process.exitCode = main(process.argv.slice(2));
