// Instruments a core module so that the host can interrupt a guest spinning
// on the CPU without terminating its thread (as wasmtime's epochs do): at
// every function entry and loop header the code reads a flag another thread
// can set, and calls the host only when it is set. The host's `check` then
// throws (stopping the call) or waits (pausing it).
//
// The flag lives in a second, shared memory (index 1). Imported memories come
// first in the index space, so the module's own memory is turned into an
// import too: it stays memory 0 and no load or store changes.
import { Reader, SECTION, concat, encodeName, readSections, uleb, type Section } from "./wasm-binary.js";
import { rewriteBody, skipValueType, type BodyRewrite } from "./wasm-body.js";
import { customSection, elementSection, exportSection, globalSection, skipLimits, tableSection } from "./wasm-renumber.js";
import { Unsupported, Writer } from "./wasm-writer.js";

export const INTERRUPT_IMPORTS = { module: "wfn:interrupt", memory: "memory", flags: "flags", check: "check", yield: "yield" } as const;

/** Function imports the instrumentation adds (`check`, then `yield`): defined functions move up by this many. */
const ADDED_FUNCTIONS = 2;

export interface InstrumentedModule {
  /** The instrumented module (possibly a view of a slightly larger buffer). */
  module: Uint8Array<ArrayBuffer>;
  /** The memory the module defined, now imported as (wfn:interrupt, memory) at memory index 0: create it with these limits. */
  memory: { initial: number; maximum: number | undefined };
  /** Checks inserted (function entries + loop headers). */
  checks: number;
}

export interface InstrumentOptions {
  /**
   * Marks every inserted `if` as unlikely (a `metadata.code.branch_hint`
   * section, default true). A call in a loop, even one never made, costs V8
   * registers spilled on the hot path; hinted, the call is laid out of line
   * (V8 13.6 reads hints only with --experimental-wasm-branch-hinting, and
   * ignores the section otherwise).
   */
  branchHints?: boolean;
}

/** Instruments a core module, or says why it cannot (then it is run as it is). */
export function instrumentInterrupts(bytes: Uint8Array, options: InstrumentOptions = {}): InstrumentedModule | { reason: string } {
  try {
    return instrument(bytes, options.branchHints !== false);
  } catch (error) {
    if (error instanceof Unsupported) return { reason: error.message };
    return { reason: `malformed module: ${(error as Error).message}` };
  }
}

/** Where the check's `if` is. */
const CHECK_IF_AT = 7;

/**
 * The check inserted: `if (i32.atomic.load memory=1 offset=0 (i32.const 0))
 * (if (call $check) (call $yield))`. `check` (a plain host function) looks at
 * the request and may stop the guest; it answers 1 when the guest should give
 * its thread back, and `yield` (a suspending import, which always suspends)
 * then does. Only `check` may run where a suspension is not allowed.
 */
function checkCode(checkIndex: number, yieldIndex: number): Uint8Array {
  // The atomic load keeps the engine from hoisting the read out of a loop. Its
  // memarg is the multi-memory form: alignment 2 with bit 6 set, then memory 1.
  return concat([[0x41, 0x00, 0xfe, 0x10, 0x42, 0x01, 0x00, 0x04, 0x40, 0x10], uleb(checkIndex), [0x04, 0x40, 0x10], uleb(yieldIndex), [0x0b, 0x0b]]);
}

interface Plan {
  /** Index of the `[] -> [i32]` type (`check`) and of the `[] -> []` type (`yield`); `append` lists the types to add to the type section. */
  checkType: number;
  yieldType: number;
  append: Array<number[]>;
  /** Function imports: defined functions start here, and are shifted by one. */
  importedFunctions: number;
  memory: { initial: number; maximum: number | undefined };
}

function instrument(input: Uint8Array, branchHints: boolean): InstrumentedModule {
  // A plain view: subarrays of a Buffer (what readFile gives) are much slower to make.
  const bytes = new Uint8Array(input.buffer, input.byteOffset, input.byteLength);
  const sections = readSections(bytes);
  const plan = planOf(bytes, sections);
  const renumber = (f: number) => (f < plan.importedFunctions ? f : f + ADDED_FUNCTIONS);
  const rewrite: BodyRewrite = { shiftFrom: plan.importedFunctions, shift: ADDED_FUNCTIONS, check: checkCode(plan.importedFunctions, plan.importedFunctions + 1), ifAt: CHECK_IF_AT };
  // Checks and their hints add about 5% to StarlingMonkey's engine module (its data lifted out): room enough not to grow.
  const out = new Writer(Math.ceil(bytes.length * 1.08) + 4096);
  out.copy(bytes, 0, 8);
  let checks = 0;
  let typeDone = false;
  let importDone = false;
  const sized = (id: number, body: () => void) => {
    out.byte(id);
    const mark = out.beginSized();
    body();
    out.endSized(mark);
  };
  // The type and import sections come first: add them before any later section when the module has none.
  const ensureHeadSections = (id: number) => {
    if (!typeDone && id !== SECTION.type) {
      typeDone = true;
      sized(SECTION.type, () => typeSection(bytes, undefined, plan, out));
    }
    if (!importDone && id !== SECTION.type && id !== SECTION.import) {
      importDone = true;
      sized(SECTION.import, () => importSection(bytes, undefined, plan, out));
    }
  };
  for (const s of sections) {
    if (s.id === SECTION.custom) {
      customSection(bytes, s, out, renumber);
      continue;
    }
    ensureHeadSections(s.id);
    switch (s.id) {
      case SECTION.type:
        typeDone = true;
        if (plan.append.length > 0) sized(s.id, () => typeSection(bytes, s, plan, out));
        else out.copy(bytes, s.start, s.end);
        break;
      case SECTION.import:
        importDone = true;
        sized(s.id, () => importSection(bytes, s, plan, out));
        break;
      case SECTION.memory:
        break; // now an import
      case SECTION.table:
        sized(s.id, () => tableSection(bytes, s, out, renumber));
        break;
      case SECTION.global:
        sized(s.id, () => globalSection(bytes, s, out, renumber));
        break;
      case SECTION.export:
        sized(s.id, () => exportSection(bytes, s, out, renumber));
        break;
      case SECTION.start:
        sized(s.id, () => out.u32(renumber(new Reader(bytes, s.body).u32())));
        break;
      case SECTION.element:
        sized(s.id, () => elementSection(bytes, s, out, renumber));
        break;
      case SECTION.code: {
        const codeAt = out.at;
        const hints: number[][] = [];
        sized(s.id, () => {
          const reader = new Reader(bytes, s.body);
          const count = reader.u32();
          out.u32(count);
          for (let i = 0; i < count; i++) {
            const size = reader.u32();
            const mark = out.beginSized();
            if (branchHints) hints.push((rewrite.ifs = []));
            checks += rewriteBody(bytes, reader.at, reader.at + size, out, rewrite);
            out.endSized(mark);
            reader.at += size;
          }
          if (reader.at !== s.end) throw new Unsupported("the code section has bytes after its last body");
        });
        if (branchHints) insertBefore(out, codeAt, branchHintSection(hints, plan.importedFunctions + ADDED_FUNCTIONS));
        break;
      }
      default:
        // function, tag, data count, data: no function indices.
        out.copy(bytes, s.start, s.end);
    }
  }
  ensureHeadSections(-1);
  return { module: out.finish(), memory: plan.memory, checks };
}

/**
 * The branch hint section (before the code section): for every function (by
 * index), the offsets of its inserted `if`s, each hinted unlikely.
 */
function branchHintSection(hints: number[][], firstDefined: number): Uint8Array {
  const out = new Writer(16 + hints.reduce((n, ifs) => n + 8 + ifs.length * 6, 0));
  out.byte(SECTION.custom);
  const mark = out.beginSized();
  out.append(encodeName("metadata.code.branch_hint"));
  out.u32(hints.length);
  hints.forEach((ifs, i) => {
    out.u32(firstDefined + i);
    out.u32(ifs.length);
    for (const at of ifs) {
      out.u32(at);
      out.append([0x01, 0x00]); // one byte: 0, unlikely
    }
  });
  out.endSized(mark);
  return out.finish();
}

/** Inserts `bytes` at `at`, moving what follows. */
function insertBefore(out: Writer, at: number, bytes: Uint8Array): void {
  out.ensure(bytes.length);
  out.bytes.copyWithin(at + bytes.length, at, out.at);
  out.bytes.set(bytes, at);
  out.at += bytes.length;
}

/** Reads what the rewrite depends on, refusing modules it cannot handle. */
function planOf(bytes: Uint8Array, sections: Section[]): Plan {
  const find = (id: number) => sections.find((s) => s.id === id);
  let importedFunctions = 0;
  const imports = find(SECTION.import);
  if (imports !== undefined) {
    const reader = new Reader(bytes, imports.body);
    for (let n = reader.u32(); n > 0; n--) {
      reader.name();
      reader.name();
      const kind = reader.byte();
      if (kind === 0x00) {
        importedFunctions++;
        reader.u32();
      } else if (kind === 0x01) {
        reader.at = skipValueType(bytes, reader.at);
        skipLimits(reader);
      } else if (kind === 0x02) {
        throw new Unsupported("the module imports a memory");
      } else if (kind === 0x03) {
        reader.at = skipValueType(bytes, reader.at) + 1;
      } else if (kind === 0x04) {
        reader.byte();
        reader.u32();
      } else {
        throw new Unsupported(`unknown import kind ${kind}`);
      }
    }
  }
  const memories = find(SECTION.memory);
  const reader = memories === undefined ? undefined : new Reader(bytes, memories.body);
  const count = reader?.u32() ?? 0;
  if (reader === undefined || count !== 1) throw new Unsupported(`the module defines ${count} memories (instrumented: exactly one)`);
  const flags = reader.byte();
  if (flags > 1) throw new Unsupported("shared and 64-bit memories are not supported");
  const initial = reader.u32();
  const memory = { initial, maximum: flags & 1 ? reader.u32() : undefined };
  const types = find(SECTION.type);
  const append: Array<number[]> = [];
  const typeIndex = (results: number[]) => {
    const found = functionType(bytes, types, results);
    if (found !== undefined) return found;
    append.push(results);
    return typeCount(bytes, types) + append.length - 1;
  };
  const checkType = typeIndex([0x7f]);
  const yieldType = typeIndex([]);
  return { checkType, yieldType, append, importedFunctions, memory };
}

/** The number of types in the type section. */
function typeCount(bytes: Uint8Array, types: Section | undefined): number {
  return types === undefined ? 0 : new Reader(bytes, types.body).u32();
}

/** The index of the first function type without parameters and with these results, if there is one. */
function functionType(bytes: Uint8Array, types: Section | undefined, results: number[]): number | undefined {
  if (types === undefined) return undefined;
  const reader = new Reader(bytes, types.body);
  const count = reader.u32();
  for (let i = 0; i < count; i++) {
    if (reader.byte() !== 0x60) throw new Unsupported("garbage-collection types are not supported");
    const params = reader.u32();
    for (let j = 0; j < params; j++) reader.at = skipValueType(bytes, reader.at);
    const resultCount = reader.u32();
    const start = reader.at;
    for (let j = 0; j < resultCount; j++) reader.at = skipValueType(bytes, reader.at);
    const same = resultCount === results.length && results.every((type, j) => bytes[start + j] === type) && reader.at - start === results.length;
    if (params === 0 && same) return i;
  }
  return undefined;
}

function typeSection(bytes: Uint8Array, s: Section | undefined, plan: Plan, out: Writer): void {
  const reader = s === undefined ? undefined : new Reader(bytes, s.body);
  out.u32((reader?.u32() ?? 0) + plan.append.length);
  if (reader !== undefined && s !== undefined) out.copy(bytes, reader.at, s.end);
  for (const results of plan.append) out.append([0x60, 0x00, results.length, ...results]);
}

function importSection(bytes: Uint8Array, s: Section | undefined, plan: Plan, out: Writer): void {
  const reader = s === undefined ? undefined : new Reader(bytes, s.body);
  out.u32((reader?.u32() ?? 0) + 4);
  if (reader !== undefined && s !== undefined) out.copy(bytes, reader.at, s.end);
  const { module, memory, flags, check, yield: yieldName } = INTERRUPT_IMPORTS;
  const { initial, maximum } = plan.memory;
  const limits = maximum === undefined ? [0x00, ...uleb(initial)] : [0x01, ...uleb(initial), ...uleb(maximum)];
  out.append(concat([encodeName(module), encodeName(memory), [0x02], limits]));
  // One page, shared: the host's other threads set the flag.
  out.append(concat([encodeName(module), encodeName(flags), [0x02, 0x03, 0x01, 0x01]]));
  out.append(concat([encodeName(module), encodeName(check), [0x00], uleb(plan.checkType)]));
  out.append(concat([encodeName(module), encodeName(yieldName), [0x00], uleb(plan.yieldType)]));
}
