// Functions written in other languages: an entry that is already a
// component (`.wasm`), a core module (`.wasm`) or core-module text (`.wat`)
// implementing the world's canonical ABI. Core modules get the world
// embedded and are wrapped into a component; components are checked.
import { readFile } from "node:fs/promises";
import { join } from "node:path";
import type { SourceProblem } from "./bundle.js";
import type { World } from "./world.js";

/** True when `entry` is built by this module rather than bundled as JavaScript. */
export function isPrebuiltEntry(entry: string): boolean {
  return /\.(wasm|wat)$/i.test(entry);
}

/** A prebuilt entry that is not usable, with the reason. */
export class PrebuiltError extends Error {
  override name = "PrebuiltError";
  constructor(readonly problem: SourceProblem) {
    super(problem.message);
  }
}

/** Produces the component for a `.wasm` or `.wat` entry. */
export async function buildPrebuilt(projectDir: string, entry: string, world: World): Promise<{ component: Uint8Array; kind: string }> {
  const bytes = await readFile(join(projectDir, entry));
  // Loaded only for prebuilt entries (it instantiates wasm-tools, ~60 ms).
  const { componentEmbed, componentNew, componentWit, parse } = await import("@bytecodealliance/jco-transpile/wasm-tools");
  let binary: Uint8Array;
  if (/\.wat$/i.test(entry)) {
    try {
      binary = await parse(bytes.toString("utf8"));
    } catch (error) {
      throw new PrebuiltError({ file: entry, message: `is not valid WebAssembly text: ${firstLine(error)}` });
    }
  } else {
    binary = bytes;
  }
  if (binary.length < 8 || binary[0] !== 0x00 || binary[1] !== 0x61 || binary[2] !== 0x73 || binary[3] !== 0x6d) {
    throw new PrebuiltError({ file: entry, message: "is not a WebAssembly binary" });
  }
  const isComponent = binary[6] === 0x01 && binary[7] === 0x00;
  let component: Uint8Array;
  try {
    component = isComponent ? binary : await componentNew(await componentEmbed({ binary, witSource: world.source, world: "function" }), []);
  } catch (error) {
    throw new PrebuiltError({ file: entry, message: `does not implement the world wfn:function/function@0.1.0: ${firstLine(error)}` });
  }
  const wit = await componentWit(component).catch(() => "");
  if (!/export handle: func\(event: event, context: context\) -> result<outcome, function-error>;/.test(wit)) {
    throw new PrebuiltError({ file: entry, message: "does not export `handle` as the world wfn:function/function@0.1.0 defines it" });
  }
  return { component, kind: isComponent ? "component" : /\.wat$/i.test(entry) ? "wat" : "core module" };
}

function firstLine(error: unknown): string {
  return (error instanceof Error ? error.message : String(error)).split("\n")[0]!.slice(0, 300);
}
