// The largest core module of a component (a JavaScript engine) as
// jco-transpile splits it with the host's options. The transpile cache does
// not keep core modules on disk (they are in the component), so benchmarks
// that time compiling or instrumenting one take it from here.
import { TRANSPILE_OPTIONS } from "../../runtime/dist/artifact/prepare.js";

/** `{ name, bytes }` of the component's largest core module. */
export async function largestCoreModule(component) {
  const { transpileBytes } = await import("@bytecodealliance/jco-transpile");
  const { files } = await transpileBytes(component, TRANSPILE_OPTIONS);
  const [name, bytes] = Object.entries(files)
    .filter(([file]) => file.endsWith(".wasm"))
    .sort(([, a], [, b]) => b.byteLength - a.byteLength)[0];
  return { name, bytes };
}
