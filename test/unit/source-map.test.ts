// Guest stack traces through the bundle's source map: positions in
// function.js become positions in the project's files; the map travels in
// a custom section of the component.
import { transform } from "esbuild";
import { describe, expect, it } from "vitest";
import { componentSourceMap, SOURCE_MAP_SECTION, StackMapper } from "../../runtime/src/util/source-map.js";
import { customSection, withCustomSection } from "../../runtime/src/util/wasm-binary.js";

const SOURCE = ["type Order = { items: number[] };", "", "export function total(order: Order): number {", '  if (order.items.length === 0) throw new Error("empty");', "  return order.items.reduce((a, b) => a + b, 0);", "}", ""].join("\n");

/** `SOURCE` compiled as the bundler does, and where `throw` landed in the output (line and column from 1). */
async function compiled(): Promise<{ map: string; line: number; column: number }> {
  const out = await transform(SOURCE, { loader: "ts", sourcemap: "external", sourcefile: "src/order.ts", format: "esm" });
  const lines = out.code.split("\n");
  const line = lines.findIndex((text) => text.includes("throw"));
  return { map: out.map, line: line + 1, column: lines[line]!.indexOf("throw") + 1 };
}

describe("StackMapper", () => {
  it("rewrites every function.js position it knows to the source's line and column, in StarlingMonkey's and V8's frame formats", async () => {
    const { map, line, column } = await compiled();
    const stacks = new StackMapper(map);
    expect(stacks.map(`total@function.js:${line}:${column}\n    at total (function.js:${line}:${column})`)).toBe("total@src/order.ts:4:33\n    at total (src/order.ts:4:33)");
    // QuickJS names the same bundle componentize-qjs:user.js.
    expect(stacks.map(`    at total (componentize-qjs:user.js:${line}:${column})`)).toBe("    at total (src/order.ts:4:33)");
  });

  it("leaves other text, other files and positions outside the map as they are", async () => {
    const stacks = new StackMapper((await compiled()).map);
    for (const text of ["no position here", "export_handle@/wfn-init/initializer.js:943:29", "myfunction.js:1:1", "function.js:999:1"]) expect(stacks.map(text)).toBe(text);
  });
});

describe("the source map in the component", () => {
  it("is read back from the custom section it was appended in, and absent from a component without one", () => {
    const component = new Uint8Array([0x00, 0x61, 0x73, 0x6d, 0x0d, 0x00, 0x01, 0x00]);
    expect(componentSourceMap(component)).toBeUndefined();
    const map = JSON.stringify({ version: 3, sources: ["src/index.ts"], mappings: "AAAA" });
    const carrying = withCustomSection(component, SOURCE_MAP_SECTION, new TextEncoder().encode(map));
    expect(componentSourceMap(carrying)).toBe(map);
    expect(customSection(carrying, "another")).toBeUndefined();
  });
});
