// Builds the jco serve peer's component: worker.js (an incoming-handler
// export) componentized by componentize-js into a wasi:http proxy component,
// cached under bench/.cache/jco/ by the hash of everything that goes in.
// Prints `component: <path>`. Runs as its own process (componentize-js
// installs global hooks and loads large engines).
// Usage: node bench/peers/jco/build.mjs
import { createHash } from "node:crypto";
import { existsSync, readdirSync } from "node:fs";
import { mkdir, readFile, rename, rm, writeFile } from "node:fs/promises";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { packageDir, packageVersion } from "../../lib/packages.mjs";
import { SCRATCH } from "../../lib/paths.mjs";

const WORKER = fileURLToPath(new URL("./worker.js", import.meta.url));
const componentizeDir = packageDir("@bytecodealliance/componentize-js");
const jcoDir = packageDir("@bytecodealliance/jco");
const version = packageVersion("@bytecodealliance/componentize-js");

/**
 * The wasi version StarlingMonkey was linked against: the world must name the
 * same version or componentize-js cannot find the engine's handler export.
 */
async function engineWasiVersion() {
  const engine = await readFile(join(componentizeDir, "lib", "starlingmonkey_embedding.wasm"));
  const found = /wasi:http\/incoming-handler@(0\.2\.\d+)/.exec(engine.toString("latin1"));
  if (found === null) throw new Error("cannot tell which wasi:http version componentize-js's engine uses");
  return found[1];
}

/**
 * WIT for a wasi:http proxy world. The WASI packages come from the snapshots
 * jco ships (lib/wit/builtin/0.2.x, identical declarations across 0.2
 * patches), relabelled with the engine's patch version.
 */
async function writeWorld(dir, wasiVersion) {
  const builtin = join(jcoDir, "lib", "wit", "builtin");
  const snapshot = readdirSync(builtin)
    .filter((name) => /^0\.2\.\d+$/.test(name) && existsSync(join(builtin, name, "wasi-http")))
    .sort((a, b) => Number(b.split(".")[2]) - Number(a.split(".")[2]))[0];
  if (snapshot === undefined) throw new Error(`no wasi:http 0.2 WIT in ${builtin}`);
  for (const pkg of readdirSync(join(builtin, snapshot))) {
    const text = await readFile(join(builtin, snapshot, pkg, "package.wit"), "utf8");
    await mkdir(join(dir, "deps", pkg), { recursive: true });
    await writeFile(join(dir, "deps", pkg, "package.wit"), text.replaceAll(`@${snapshot}`, `@${wasiVersion}`));
  }
  await writeFile(join(dir, "world.wit"), `package bench:hello;\n\nworld hello {\n  include wasi:http/proxy@${wasiVersion};\n}\n`);
}

async function build() {
  const wasiVersion = await engineWasiVersion();
  // The worker imports wasi:http types by their versioned name: use the engine's version.
  const source = (await readFile(WORKER, "utf8")).replace(/(wasi:[a-z-]+\/[a-z-]+)@0\.2\.\d+/g, `$1@${wasiVersion}`);
  const key = createHash("sha256").update(JSON.stringify([version, wasiVersion])).update(source).digest("hex").slice(0, 16);
  const out = join(SCRATCH, "jco", key, "component.wasm");
  if (existsSync(out)) return out;

  const work = join(SCRATCH, "jco", `${key}.tmp-${process.pid}`);
  await rm(work, { recursive: true, force: true });
  await writeWorld(join(work, "wit"), wasiVersion);
  await writeFile(join(work, "worker.js"), source);
  // componentize-js reads WIT through preview2-shim's filesystem, which has no preopens by default.
  const { _setPreopens } = await import("@bytecodealliance/preview2-shim/filesystem");
  _setPreopens({ "/": "/" });
  const { componentize } = await import("@bytecodealliance/componentize-js");
  const { component } = await componentize({ sourcePath: join(work, "worker.js"), witPath: join(work, "wit"), worldName: "hello" });
  await writeFile(join(work, "component.wasm"), component);
  await rm(dirname(out), { recursive: true, force: true });
  await rename(work, dirname(out));
  // Earlier builds (another source or toolchain version) are of no further use.
  for (const entry of readdirSync(join(SCRATCH, "jco"))) {
    if (entry !== key && !entry.includes(".tmp-")) await rm(join(SCRATCH, "jco", entry), { recursive: true, force: true });
  }
  return out;
}

console.log(`component: ${await build()}`);
