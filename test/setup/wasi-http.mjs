// Builds the two wasi:http/proxy components the tests deploy, with other
// toolchains than wfn's, the way their users build them:
//   gen/fetch-event.wasm  componentize-js from src/fetch-event.js against
//                         wasi:http/proxy@0.2.10 (the version its engine speaks)
//   gen/hello-wat.wasm    src/hello.wat, a hand-written core module, embedded
//                         with wasi:http/proxy@0.2.0's WIT and made a component
//                         by wasm-tools
// The WIT comes from jco's copy of WASI 0.2.12, relabelled to each version
// (the interfaces these components use did not change across 0.2.x).
// Outputs are cached by content hash under $WFN_CACHE_DIR/wasi-http.
// Usage: node test/setup/wasi-http.mjs <fixture dir> <cache dir>
import { createHash } from "node:crypto";
import { cp, mkdir, mkdtemp, readFile, readdir, rename, rm, writeFile } from "node:fs/promises";
import { readFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";

const [fixtureDir, cacheDir] = process.argv.slice(2);
const modules = fileURLToPath(new URL("../../node_modules/", import.meta.url));
const builtin = join(modules, "@bytecodealliance", "jco", "lib", "wit", "builtin", "0.2.12");
const version = (name) => JSON.parse(readFileSync(join(modules, name, "package.json"), "utf8")).version;

/** A WIT folder whose world `function` includes wasi:http/proxy at `at`. */
async function proxyWit(at) {
  const dir = await mkdtemp(join(tmpdir(), "wfn-proxy-wit-"));
  await writeFile(join(dir, "world.wit"), `package wfn-test:proxy;\n\nworld function {\n  include wasi:http/proxy@${at};\n}\n`);
  for (const name of await readdir(builtin)) {
    // Copies, not links: componentize-js's WIT reader does not follow symbolic links.
    await cp(join(builtin, name), join(dir, "deps", name), { recursive: true });
    for (const file of await readdir(join(dir, "deps", name))) {
      const path = join(dir, "deps", name, file);
      if (file.endsWith(".wit")) await writeFile(path, (await readFile(path, "utf8")).replaceAll("@0.2.12", `@${at}`));
    }
  }
  return dir;
}

async function cachedBuild(name, inputs, make) {
  const key = createHash("sha256").update(JSON.stringify(inputs)).digest("hex");
  const cached = join(cacheDir, "wasi-http", `${key}.wasm`);
  let bytes;
  try {
    bytes = await readFile(cached);
  } catch {
    const started = performance.now();
    bytes = await make();
    await mkdir(dirname(cached), { recursive: true });
    await writeFile(`${cached}.tmp-${process.pid}`, bytes);
    await rename(`${cached}.tmp-${process.pid}`, cached);
    console.error(`built ${name} (${bytes.byteLength} bytes) in ${Math.round(performance.now() - started)} ms`);
  }
  await mkdir(join(fixtureDir, "gen"), { recursive: true });
  await writeFile(join(fixtureDir, "gen", name), bytes);
}

const script = await readFile(join(fixtureDir, "src", "fetch-event.js"), "utf8");
await cachedBuild("fetch-event.wasm", ["componentize-js", version("@bytecodealliance/componentize-js"), "0.2.10", script], async () => {
  const { _setPreopens } = await import("@bytecodealliance/preview2-shim/filesystem");
  _setPreopens({ "/": "/" });
  const { componentize } = await import("@bytecodealliance/componentize-js");
  const wit = await proxyWit("0.2.10");
  try {
    const { component } = await componentize({ sourcePath: join(fixtureDir, "src", "fetch-event.js"), witPath: wit, worldName: "function" });
    return component;
  } finally {
    await rm(wit, { recursive: true, force: true });
  }
});

const wat = await readFile(join(fixtureDir, "src", "hello.wat"), "utf8");
await cachedBuild("hello-wat.wasm", ["wasm-tools", version("@bytecodealliance/jco-transpile"), "0.2.0", wat], async () => {
  const { _setPreopens } = await import("@bytecodealliance/preview2-shim/filesystem");
  _setPreopens({ "/": "/" });
  const { componentEmbed, componentNew, parse } = await import("@bytecodealliance/jco-transpile/wasm-tools");
  const wit = await proxyWit("0.2.0");
  try {
    const binary = await parse(wat);
    return await componentNew(await componentEmbed({ binary, witPath: wit, world: "function" }), []);
  } finally {
    await rm(wit, { recursive: true, force: true });
  }
});
