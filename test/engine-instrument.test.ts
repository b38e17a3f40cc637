// Interrupt checks on the real engine: StarlingMonkey's core module, from a
// component our own `wfn build` made (the test run's fixtures), instrumented,
// validates and compiles, with checks at thousands of sites.
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { readSections } from "../runtime/src/util/wasm-binary.js";
import { instrumentInterrupts } from "../runtime/src/util/wasm-instrument.js";
import { HOSTILE_BUILD } from "./helpers/paths.js";

function engineModule(component: Uint8Array): Uint8Array {
  // Section 1 of a component is a core module; the engine is the largest.
  const modules = readSections(component).filter((s) => s.id === 1);
  const largest = modules.sort((a, b) => b.end - b.body - (a.end - a.body))[0]!;
  return component.subarray(largest.body, largest.end);
}

function instrumented(bytes: Uint8Array) {
  const result = instrumentInterrupts(bytes);
  if ("reason" in result) throw new Error(`refused: ${result.reason}`);
  return result;
}

const ENGINE_COMPONENT = join(HOSTILE_BUILD, "spin", "component.wasm");

describe("instrumentInterrupts on StarlingMonkey", () => {
  it("instruments the engine module of a built component so that it validates and compiles", () => {
    const engine = engineModule(readFileSync(ENGINE_COMPONENT));
    const result = instrumented(engine);
    expect(WebAssembly.validate(result.module)).toBe(true);
    expect(() => new WebAssembly.Module(result.module)).not.toThrow();
    // Thousands of functions and loops.
    expect(result.checks).toBeGreaterThan(20_000);
    expect(result.memory.initial).toBeGreaterThan(0);
  });
});
