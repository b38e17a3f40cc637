// Stopping a guest that keeps its thread computing, without stopping the
// thread. The engine module of a component is instrumented
// (util/wasm-instrument.ts): at every function entry and loop header it
// reads the first word of a small shared memory, and calls `check` when it
// is set. Each executor has one such memory, which the host's main thread
// writes: "look" when an invocation on that executor passed its deadline.
// The instance whose code runs `check` then stops itself if its own
// invocation is past its deadline (the others clear the flag: the one that
// timed out is suspended, and the executor drops it).
import { writeMemoryImage, type MemoryImage } from "../util/wasm-binary.js";
import { INTERRUPT_IMPORTS } from "../util/wasm-instrument.js";
import type { CallState } from "./imports.js";

/** Words of an executor's interrupt memory (Int32 indices). */
export const INTERRUPT_FLAGS = {
  /** Read by the instrumented code: non-zero makes it call `check`. */
  LOOK: 0,
} as const;

/** Thrown into a guest that runs past its deadline: it unwinds the whole call, and the instance is discarded. */
export class Interrupted extends Error {
  override name = "Interrupted";
}

/** The interrupt memory of one executor: one page, shared with the host's main thread. */
export function interruptMemory(): WebAssembly.Memory {
  return new WebAssembly.Memory({ initial: 1, maximum: 1, shared: true });
}

/** Asks whatever computes on the executor owning `flags` to look at its deadline (any thread may call this). */
export function requestInterrupt(flags: Int32Array): void {
  Atomics.store(flags, INTERRUPT_FLAGS.LOOK, 1);
}

/** What the instances of an executor need to be interruptible. */
export interface InterruptSupply {
  /** The instrumented modules, with the limits of the memory each imports. */
  memories: ReadonlyMap<WebAssembly.Module, { initial: number; maximum: number | undefined }>;
  /** The executor's interrupt memory. */
  flags: WebAssembly.Memory;
}

/** The `check` of one instance: stops its call once past its deadline, else clears the request. */
function checkFor(flags: Int32Array, call: CallState): () => void {
  return () => {
    Atomics.store(flags, INTERRUPT_FLAGS.LOOK, 0);
    if (call.deadlineMs > 0 && Date.now() >= call.deadlineMs) {
      throw new Interrupted("the invocation ran past its timeout and was stopped");
    }
  };
}

/**
 * The `wfn:interrupt` imports of `module` for one instance (undefined when
 * it is not instrumented): its own memory, created here with the data image
 * written in before instantiation, the executor's flags, and its `check`.
 */
export function interruptImports(
  supply: InterruptSupply,
  module: WebAssembly.Module,
  image: MemoryImage | undefined,
  call: CallState,
): { imports: WebAssembly.Imports; memory: WebAssembly.Memory } | undefined {
  const limits = supply.memories.get(module);
  if (limits === undefined) return undefined;
  const memory = new WebAssembly.Memory(limits.maximum === undefined ? { initial: limits.initial } : { initial: limits.initial, maximum: limits.maximum });
  // Before instantiation: a start function would see the memory as the data segments left it.
  if (image !== undefined) writeMemoryImage(memory, image);
  const check = checkFor(new Int32Array(supply.flags.buffer), call);
  return {
    imports: { [INTERRUPT_IMPORTS.module]: { [INTERRUPT_IMPORTS.memory]: memory, [INTERRUPT_IMPORTS.flags]: supply.flags, [INTERRUPT_IMPORTS.check]: check } },
    memory,
  };
}
