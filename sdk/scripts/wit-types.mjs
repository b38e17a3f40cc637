// Generates the TypeScript declarations of the guest's imports from the WIT
// (sdk/wit/), with jco's guest-types, into sdk/src/guest/wit/. The SDK's
// guest code is typed by them; a unit test checks they are up to date.
//   node sdk/scripts/wit-types.mjs           writes them
//   node sdk/scripts/wit-types.mjs --check   exits 1 when they differ
import { mkdir, readFile, rm, writeFile } from "node:fs/promises";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";

const SDK = fileURLToPath(new URL("..", import.meta.url));
export const WIT_DIR = join(SDK, "wit");
export const OUT_DIR = join(SDK, "src", "guest", "wit");
const HEADER = "// Generated from sdk/wit/ by `npm run wit:types` (jco guest-types): do not edit.\n";

/** The declarations the WIT gives, by path under OUT_DIR. */
export async function generate() {
  // The type generator is a WebAssembly component reading the WIT through preview2-shim's filesystem.
  const { _setPreopens } = await import("@bytecodealliance/preview2-shim/filesystem");
  _setPreopens({ "/": "/" });
  const { generateGuestTypes } = await import("@bytecodealliance/jco-transpile");
  const out = {};
  for (const worldName of ["function", "function-async"]) {
    const files = await generateGuestTypes(WIT_DIR, { worldName });
    for (const [name, bytes] of Object.entries(files)) out[name] = HEADER + new TextDecoder().decode(bytes);
  }
  return out;
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const files = await generate();
  if (process.argv.includes("--check")) {
    const stale = [];
    for (const [name, text] of Object.entries(files)) {
      const current = await readFile(join(OUT_DIR, name), "utf8").catch(() => undefined);
      if (current !== text) stale.push(name);
    }
    if (stale.length > 0) {
      console.error(`out of date with sdk/wit: ${stale.join(", ")} (run npm run wit:types)`);
      process.exit(1);
    }
  } else {
    await rm(OUT_DIR, { recursive: true, force: true });
    for (const [name, text] of Object.entries(files)) {
      await mkdir(dirname(join(OUT_DIR, name)), { recursive: true });
      await writeFile(join(OUT_DIR, name), text);
    }
    console.log(`wrote ${Object.keys(files).length} files into ${OUT_DIR}`);
  }
}
