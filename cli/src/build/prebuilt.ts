// Functions written in other languages: an entry that is already a
// component (`.wasm`), a core module (`.wasm`) or core-module text (`.wat`)
// implementing the world's canonical ABI. Core modules get the world
// embedded and are wrapped into a component; components are checked: they
// target the wfn world (export `handle`) or the standard wasi:http/proxy
// world (export wasi:http/incoming-handler, as Spin's SDKs, componentize-js,
// cargo-component and TinyGo build them).
import { readFile } from "node:fs/promises";
import { join } from "node:path";
import type { SourceProblem } from "./bundle.js";
import type { World } from "./world.js";

/** True when `entry` is built by this module rather than bundled as JavaScript. */
export function isPrebuiltEntry(entry: string): boolean {
  return /\.(wasm|wat|c)$/i.test(entry);
}

/** A prebuilt entry that is not usable, with the reason. */
export class PrebuiltError extends Error {
  override name = "PrebuiltError";
  constructor(readonly problem: SourceProblem) {
    super(problem.message);
  }
}

/** The wasi:http versions a proxy component may export its incoming handler at. */
const PROXY_EXPORT = /^\s*export wasi:http\/incoming-handler@0\.2\.(\d+);$/m;

/** A component a prebuilt entry produced: `proxy` when it targets wasi:http/proxy rather than the wfn world. */
export interface PrebuiltComponent {
  component: Uint8Array;
  kind: string;
  proxy: boolean;
}

/** Produces the component for a `.wasm` or `.wat` entry. */
export async function buildPrebuilt(projectDir: string, entry: string, world: World): Promise<PrebuiltComponent> {
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
  const kind = isComponent ? "component" : /\.wat$/i.test(entry) ? "wat" : "core module";
  if (isComponent && PROXY_EXPORT.test(wit)) return { component, kind: "wasi:http component", proxy: true };
  if (!/export handle: func\(event: event, context: context\) -> result<outcome, function-error>;/.test(wit)) {
    throw new PrebuiltError({
      file: entry,
      message: "exports neither `handle` as the world wfn:function/function@0.1.0 defines it nor wasi:http/incoming-handler@0.2.x (the wasi:http/proxy world)",
    });
  }
  return { component, kind, proxy: false };
}

function firstLine(error: unknown): string {
  return (error instanceof Error ? error.message : String(error)).split("\n")[0]!.slice(0, 300);
}
