// Interrupt checks at function entries and loop headers: instrumented modules
// validate, behave as before, call the host exactly when the flag is set, and
// can be stopped from another thread without terminating the calling one.
import { Worker } from "node:worker_threads";
import { parse, print } from "@bytecodealliance/jco-transpile/wasm-tools";
import { beforeAll, describe, expect, it } from "vitest";
import { SECTION, readSections } from "../../runtime/src/util/wasm-binary.js";
import { INTERRUPT_IMPORTS, instrumentInterrupts, type InstrumentOptions, type InstrumentedModule } from "../../runtime/src/util/wasm-instrument.js";

// Imported functions and globals, a start function, tables filled by active,
// declarative and expression element segments, a global holding a ref.func,
// recursion, tail calls, call_ref, loops (one with a parameter), bulk memory,
// atomics, SIMD, br_table, typed select, saturating truncation, and both
// kinds of exception handling.
const WAT = `
(module
  (type $i2i (func (param i32) (result i32)))
  (type $pair (func (param i32) (result i32)))
  (import "env" "log" (func $log (param i32)))
  (import "env" "base" (global $base i32))
  (memory (export "memory") 1 4)
  (data (i32.const 16) "hello")
  (table $t 8 funcref)
  (elem (i32.const 0) $double $fact $ten)
  (elem (table $t) (i32.const 4) funcref (ref.func $triple) (ref.null func))
  (elem declare func $ten)
  (global $fref (mut funcref) (ref.func $fact))
  (global $started (mut i32) (i32.const 0))
  (tag $boom (param i32))
  (start $init)
  (func $init (global.set $started (i32.add (global.get $base) (i32.const 7))))
  (func $double (param i32) (result i32) (i32.mul (local.get 0) (i32.const 2)))
  (func $triple (param i32) (result i32) (i32.mul (local.get 0) (i32.const 3)))
  (func $fact (param i32) (result i32)
    (if (result i32) (i32.le_s (local.get 0) (i32.const 1))
      (then (i32.const 1))
      (else (i32.mul (local.get 0) (call $fact (i32.sub (local.get 0) (i32.const 1)))))))
  (func $ten (param i32) (result i32) (i32.add (local.get 0) (i32.const 10)))
  (func $sumTail (param $n i32) (param $acc i32) (result i32)
    (if (i32.eqz (local.get $n)) (then (return (local.get $acc))))
    (return_call $sumTail (i32.sub (local.get $n) (i32.const 1)) (i32.add (local.get $acc) (local.get $n))))
  (func (export "sum") (param $n i32) (result i32) (local $i i32) (local $acc i32)
    (block $done
      (loop $next
        (br_if $done (i32.ge_u (local.get $i) (local.get $n)))
        (local.set $acc (i32.add (local.get $acc) (local.get $i)))
        (local.set $i (i32.add (local.get $i) (i32.const 1)))
        (br $next)))
    (local.get $acc))
  (func (export "countdown") (param $n i32) (result i32)
    ;; A loop with a parameter: the check must leave the stack as it is.
    (local.get $n)
    (loop $l (param i32) (result i32)
      (i32.sub (i32.const 1))
      (local.tee $n)
      (br_if $l (i32.gt_s (local.get $n) (i32.const 0))))
  )
  (func (export "indirect") (param i32 i32) (result i32) (call_indirect $t (type $i2i) (local.get 1) (local.get 0)))
  (func (export "viaGlobal") (param i32) (result i32)
    (table.set $t (i32.const 3) (global.get $fref))
    (call_indirect (type $i2i) (local.get 0) (i32.const 3)))
  (func (export "viaRef") (param i32) (result i32) (call_ref $i2i (local.get 0) (ref.func $ten)))
  (func (export "fact") (param i32) (result i32) (call $fact (local.get 0)))
  (func (export "tail") (param i32) (result i32) (return_call $sumTail (local.get 0) (i32.const 0)))
  (func (export "started") (result i32) (global.get $started))
  (func (export "load") (param i32) (result i32) (i32.load8_u (local.get 0)))
  (func (export "mixed") (param $x i32) (result i32) (local $v v128)
    (memory.fill (i32.const 100) (i32.const 3) (i32.const 8))
    (memory.copy (i32.const 200) (i32.const 100) (i32.const 8))
    (drop (i32.atomic.rmw.add (i32.const 200) (local.get $x)))
    (local.set $v (i32x4.add (v128.load (i32.const 200)) (v128.const i32x4 1 2 3 4)))
    (call $log (i32x4.extract_lane 0 (local.get $v)))
    (block $a (block $b (block $c (br_table $a $b $c (local.get $x))) (return (i32.const 30))) (return (i32.const 20)))
    (select (result i32) (i32.trunc_sat_f64_s (f64.const 1.5)) (i32.wrap_i64 (i64.const 99)) (i32.extend8_s (local.get $x))))
  (func (export "throws") (param i32) (result i32)
    try (result i32)
      local.get 0
      throw $boom
    catch $boom
      i32.const 1
      i32.add
    end)
  (func (export "caught") (param i32) (result i32)
    (block $h (result i32)
      (try_table (catch $boom $h) (throw $boom (local.get 0)))
      (i32.const -1))
    (i32.const 2)
    i32.add))
`;

type Exports = Record<string, (...args: number[]) => number>;

function instrumented(bytes: Uint8Array, options?: InstrumentOptions): InstrumentedModule {
  const result = instrumentInterrupts(bytes, options);
  if ("reason" in result) throw new Error(`refused: ${result.reason}`);
  return result;
}

function flagsMemory(): { flags: WebAssembly.Memory; flag: Int32Array } {
  const flags = new WebAssembly.Memory({ initial: 1, maximum: 1, shared: true });
  return { flags, flag: new Int32Array(flags.buffer) };
}

/**
 * Instantiates an instrumented module the way a host does: its memory and
 * the flags supplied as imports. `check` answering 1 makes the guest call
 * `yield` (here a plain function: these calls do not suspend).
 */
function instantiate(result: InstrumentedModule, imports: WebAssembly.Imports, flags: WebAssembly.Memory, check: () => number | void, onYield: () => void = () => {}): Exports {
  const memory = new WebAssembly.Memory({ initial: result.memory.initial, maximum: result.memory.maximum });
  const instance = new WebAssembly.Instance(new WebAssembly.Module(result.module), {
    ...imports,
    [INTERRUPT_IMPORTS.module]: {
      [INTERRUPT_IMPORTS.memory]: memory,
      [INTERRUPT_IMPORTS.flags]: flags,
      [INTERRUPT_IMPORTS.check]: () => check() ?? 0,
      [INTERRUPT_IMPORTS.yield]: onYield,
    },
  });
  return instance.exports as unknown as Exports;
}

describe("instrumentInterrupts", () => {
  let original: Uint8Array;
  let result: InstrumentedModule;
  const logged: number[] = [];
  const imports = () => ({ env: { log: (value: number) => logged.push(value), base: 35 } });

  beforeAll(async () => {
    original = await parse(WAT);
    result = instrumented(original);
  });

  it("gives a valid module that imports its memory with the same limits", () => {
    expect(WebAssembly.validate(result.module)).toBe(true);
    expect(result.memory).toEqual({ initial: 1, maximum: 4 });
    const imported = WebAssembly.Module.imports(new WebAssembly.Module(result.module));
    expect(imported.filter((i) => i.module === INTERRUPT_IMPORTS.module)).toEqual([
      { module: "wfn:interrupt", name: "memory", kind: "memory" },
      { module: "wfn:interrupt", name: "flags", kind: "memory" },
      { module: "wfn:interrupt", name: "check", kind: "function" },
      { module: "wfn:interrupt", name: "yield", kind: "function" },
    ]);
    // 18 function bodies and 2 loops.
    expect(result.checks).toBe(20);
  });

  it("behaves as the original module, every call reaching the same function", () => {
    const before = new WebAssembly.Instance(new WebAssembly.Module(original as Uint8Array<ArrayBuffer>), imports()).exports as unknown as Exports;
    const { flags } = flagsMemory();
    const after = instantiate(result, imports(), flags, () => {
      throw new Error("check called with the flag clear");
    });
    const calls: Array<[string, ...number[]]> = [
      ["started"], ["sum", 10], ["countdown", 5], ["fact", 6], ["tail", 100], ["viaGlobal", 7], ["viaRef", 7],
      ["indirect", 0, 5], ["indirect", 1, 5], ["indirect", 2, 5], ["indirect", 4, 5], ["load", 16], ["load", 20],
      ["mixed", 0], ["mixed", 1], ["mixed", 2], ["mixed", 5], ["throws", 41], ["caught", 40],
    ];
    for (const [name, ...args] of calls) expect([name, ...args, after[name]!(...args)]).toEqual([name, ...args, before[name]!(...args)]);
    expect(after.started!()).toBe(42);
    expect(after.fact!(5)).toBe(120);
    expect(after.indirect!(4, 5)).toBe(15);
    // Calls through a null table slot still trap.
    expect(() => after.indirect!(5, 1)).toThrow();
  });

  it("keeps function names with their functions", async () => {
    const text = await print(result.module);
    const fact = text.slice(text.indexOf("(func $fact"), text.indexOf("(func $ten"));
    expect(fact).toContain("call $fact");
  });

  it("hints every inserted check as unlikely, so an engine that reads hints keeps the call out of the hot path", async () => {
    const hinted = await print(result.module);
    // wasm-tools prints each hint just before the `if` it applies to.
    expect(hinted.match(/\(@metadata\.code\.branch_hint "\\00"\)\s+if/g)).toHaveLength(result.checks);
    const plain = instrumented(original, { branchHints: false });
    expect(WebAssembly.validate(plain.module)).toBe(true);
    expect(await print(plain.module)).not.toContain("branch_hint");
  });

  it("calls the host at every function entry and loop header while the flag is set, and never when it is clear", () => {
    const { flags, flag } = flagsMemory();
    let checks = 0;
    const exports = instantiate(result, imports(), flags, () => void checks++);
    expect(exports.sum!(1000)).toBe(499500);
    expect(checks).toBe(0);
    Atomics.store(flag, 0, 1);
    expect(exports.sum!(1000)).toBe(499500);
    // The entry, then the loop header on entering it and after each of 1000 branches back.
    expect(checks).toBe(1 + 1001);
    checks = 0;
    expect(exports.fact!(5)).toBe(120);
    // The export and five nested calls of $fact.
    expect(checks).toBe(6);
    Atomics.store(flag, 0, 0);
    checks = 0;
    exports.countdown!(100);
    exports.mixed!(3);
    expect(checks).toBe(0);
  });

  it("calls yield after a check that answers 1, and only then; the guest's results stay the same", () => {
    const { flags, flag } = flagsMemory();
    let checks = 0;
    let yields = 0;
    // Ask for a yield on every tenth check.
    const exports = instantiate(result, imports(), flags, () => (++checks % 10 === 0 ? 1 : 0), () => void yields++);
    Atomics.store(flag, 0, 1);
    expect(exports.sum!(1000)).toBe(499500);
    expect(checks).toBe(1 + 1001);
    expect(yields).toBe(Math.floor(checks / 10));
    Atomics.store(flag, 0, 0);
    yields = 0;
    expect(exports.sum!(1000)).toBe(499500);
    expect(yields).toBe(0);
  });

  it("stops a guest spinning forever when another thread sets the flag, and the calling thread goes on", async () => {
    const spin = instrumented(await parse(`(module (memory 1) (func (export "spin") (loop br 0)) (func (export "add") (param i32 i32) (result i32) (i32.add (local.get 0) (local.get 1))))`));
    const { flags, flag } = flagsMemory();
    const exports = instantiate(spin, {}, flags, () => {
      throw new Error("interrupted");
    });
    // The worker has the flags' SharedArrayBuffer only; this thread is busy spinning when it sets it.
    const worker = new Worker(
      `const { workerData, parentPort } = require("node:worker_threads");
       parentPort.postMessage("ready");
       setTimeout(() => Atomics.store(new Int32Array(workerData), 0, 1), 50);`,
      { eval: true, workerData: flags.buffer },
    );
    try {
      await new Promise((resolve) => worker.once("message", resolve));
      const started = performance.now();
      expect(() => exports.spin!()).toThrow("interrupted");
      expect(performance.now() - started).toBeGreaterThanOrEqual(40);
      // The same instance, on the same thread, still answers.
      Atomics.store(flag, 0, 0);
      expect(exports.add!(2, 3)).toBe(5);
    } finally {
      await worker.terminate();
    }
  });

  it("does not change its input", async () => {
    const bytes = await parse(WAT);
    const copy = bytes.slice();
    instrumented(bytes);
    expect(bytes).toEqual(copy);
  });

  it("adds a [] -> [] type, and the type and import sections, to a module without them", async () => {
    const bare = instrumented(await parse(`(module (memory 2) (func (export "f") (result i32) (i32.const 1)))`));
    expect(WebAssembly.validate(bare.module)).toBe(true);
    expect(bare.memory).toEqual({ initial: 2, maximum: undefined });
    const { flags } = flagsMemory();
    expect(instantiate(bare, {}, flags, () => {}).f!()).toBe(1);
  });
});

describe("instrumentInterrupts refuses", () => {
  const refusal = async (wat: string) => instrumentInterrupts(await parse(wat));

  it("a module that imports a memory", async () => {
    expect(await refusal(`(module (import "env" "memory" (memory 1)))`)).toEqual({ reason: "the module imports a memory" });
  });

  it("a module with two memories, or none", async () => {
    expect(await refusal(`(module (memory 1) (memory 1))`)).toEqual({ reason: "the module defines 2 memories (instrumented: exactly one)" });
    expect(await refusal(`(module (func))`)).toEqual({ reason: "the module defines 0 memories (instrumented: exactly one)" });
  });

  it("a shared memory", async () => {
    expect(await refusal(`(module (memory 1 1 shared))`)).toEqual({ reason: "shared and 64-bit memories are not supported" });
  });

  it("an opcode it does not know", async () => {
    const bytes = await parse(`(module (memory 1) (func nop))`);
    // The body is (no locals) nop end: turn the nop into an unassigned opcode, then into a GC one.
    const code = readSections(bytes).find((s) => s.id === SECTION.code)!;
    expect(bytes[code.end - 2]).toBe(0x01);
    bytes[code.end - 2] = 0x27;
    expect(instrumentInterrupts(bytes)).toEqual({ reason: "unknown opcode 0x27" });
    bytes[code.end - 2] = 0xfb;
    expect(instrumentInterrupts(bytes)).toEqual({ reason: "garbage-collection instructions (0xfb) are not supported" });
  });
});

/** The largest core module inside a component (the JavaScript engine): what jco-transpile writes out, byte for byte. */
