// Experimental: what an instance of a core module instrumented with interrupt
// checks (util/wasm-instrument.ts) is given besides its usual imports — its
// own memory, now an import, the shared flags another thread sets, and the
// host function the guest calls when the flag is set.
import { writeMemoryImage, type MemoryImage } from "../util/wasm-binary.js";
import { INTERRUPT_IMPORTS, type InstrumentedModule } from "../util/wasm-instrument.js";

export interface InterruptSupply {
  /** The instrumented modules, with the limits of the memory each imports. */
  memories: ReadonlyMap<WebAssembly.Module, InstrumentedModule["memory"]>;
  /** One page of shared memory: the guest calls `check` while the i32 at 0 is not 0. */
  flags: WebAssembly.Memory;
  /** Throws to stop the guest (it then counts as trapped), or waits to pause it. */
  check: () => void;
}

/** The `wfn:interrupt` imports of an instrumented module (undefined for the others), its memory holding `image`. */
export function interruptImports(supply: InterruptSupply, module: WebAssembly.Module, image: MemoryImage | undefined): WebAssembly.Imports | undefined {
  const limits = supply.memories.get(module);
  if (limits === undefined) return undefined;
  const memory = new WebAssembly.Memory(limits.maximum === undefined ? { initial: limits.initial } : { initial: limits.initial, maximum: limits.maximum });
  // Before instantiation: a start function would see the memory as the data segments left it.
  if (image !== undefined) writeMemoryImage(memory, image);
  return { [INTERRUPT_IMPORTS.module]: { [INTERRUPT_IMPORTS.memory]: memory, [INTERRUPT_IMPORTS.flags]: supply.flags, [INTERRUPT_IMPORTS.check]: supply.check } };
}
