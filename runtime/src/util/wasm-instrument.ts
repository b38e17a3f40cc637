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
import { Unsupported, Writer } from "./wasm-writer.js";

export const INTERRUPT_IMPORTS = { module: "wfn:interrupt", memory: "memory", flags: "flags", check: "check" } as const;

export interface InstrumentedModule {
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

/** The check inserted: `if (i32.atomic.load memory=1 offset=0 (i32.const 0)) call $check`. */
function checkCode(checkIndex: number): Uint8Array {
  // The atomic load keeps the engine from hoisting the read out of a loop. Its
  // memarg is the multi-memory form: alignment 2 with bit 6 set, then memory 1.
  return concat([[0x41, 0x00, 0xfe, 0x10, 0x42, 0x01, 0x00, 0x04, 0x40, 0x10], uleb(checkIndex), [0x0b]]);
}

interface Plan {
  /** Index of a `[] -> []` type, and whether it must be appended to the type section. */
  checkType: number;
  appendType: boolean;
  /** Function imports: defined functions start here, and are shifted by one. */
  importedFunctions: number;
  memory: { initial: number; maximum: number | undefined };
}

function instrument(input: Uint8Array, branchHints: boolean): InstrumentedModule {
  // A plain view: subarrays of a Buffer (what readFile gives) are much slower to make.
  const bytes = new Uint8Array(input.buffer, input.byteOffset, input.byteLength);
  const sections = readSections(bytes);
  const plan = planOf(bytes, sections);
  const renumber = (f: number) => (f < plan.importedFunctions ? f : f + 1);
  const rewrite: BodyRewrite = { shiftFrom: plan.importedFunctions, check: checkCode(plan.importedFunctions), ifAt: CHECK_IF_AT };
  // Checks add about 3% to StarlingMonkey's engine; growing once more is cheap if that is not enough.
  const out = new Writer(Math.ceil(bytes.length * 1.05) + 1024);
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
      custom(bytes, s, out, renumber);
      continue;
    }
    ensureHeadSections(s.id);
    switch (s.id) {
      case SECTION.type:
        typeDone = true;
        if (plan.appendType) sized(s.id, () => typeSection(bytes, s, plan, out));
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
        if (branchHints) insertBefore(out, codeAt, branchHintSection(hints, plan.importedFunctions + 1));
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
  const checkType = emptyFunctionType(bytes, find(SECTION.type));
  return { checkType: checkType.index, appendType: checkType.append, importedFunctions, memory };
}

/** The first `[] -> []` type, or the index it gets when appended. */
function emptyFunctionType(bytes: Uint8Array, types: Section | undefined): { index: number; append: boolean } {
  if (types === undefined) return { index: 0, append: true };
  const reader = new Reader(bytes, types.body);
  const count = reader.u32();
  for (let i = 0; i < count; i++) {
    if (reader.byte() !== 0x60) throw new Unsupported("garbage-collection types are not supported");
    const params = reader.u32();
    for (let j = 0; j < params; j++) reader.at = skipValueType(bytes, reader.at);
    const results = reader.u32();
    for (let j = 0; j < results; j++) reader.at = skipValueType(bytes, reader.at);
    if (params === 0 && results === 0) return { index: i, append: false };
  }
  return { index: count, append: true };
}

function skipLimits(reader: Reader): void {
  const flags = reader.byte();
  reader.u32();
  if (flags & 1) reader.u32();
}

function typeSection(bytes: Uint8Array, s: Section | undefined, plan: Plan, out: Writer): void {
  const reader = s === undefined ? undefined : new Reader(bytes, s.body);
  out.u32((reader?.u32() ?? 0) + 1);
  if (reader !== undefined && s !== undefined) out.copy(bytes, reader.at, s.end);
  out.append([0x60, 0x00, 0x00]);
}

function importSection(bytes: Uint8Array, s: Section | undefined, plan: Plan, out: Writer): void {
  const reader = s === undefined ? undefined : new Reader(bytes, s.body);
  out.u32((reader?.u32() ?? 0) + 3);
  if (reader !== undefined && s !== undefined) out.copy(bytes, reader.at, s.end);
  const { module, memory, flags, check } = INTERRUPT_IMPORTS;
  const { initial, maximum } = plan.memory;
  const limits = maximum === undefined ? [0x00, ...uleb(initial)] : [0x01, ...uleb(initial), ...uleb(maximum)];
  out.append(concat([encodeName(module), encodeName(memory), [0x02], limits]));
  // One page, shared: the host's other threads set the flag.
  out.append(concat([encodeName(module), encodeName(flags), [0x02, 0x03, 0x01, 0x01]]));
  out.append(concat([encodeName(module), encodeName(check), [0x00], uleb(plan.checkType)]));
}

type Renumber = (f: number) => number;

/** Copies a constant expression up to its `end`, renumbering `ref.func`. */
function constExpr(bytes: Uint8Array, reader: Reader, out: Writer, renumber: Renumber): void {
  let pending = reader.at;
  for (;;) {
    const op = reader.byte();
    if (op === 0x0b) break;
    if (op === 0xd2) {
      out.copy(bytes, pending, reader.at);
      out.u32(renumber(reader.u32()));
      pending = reader.at;
    } else if (op === 0x41 || op === 0x42 || op === 0x23 || op === 0xd0) reader.sleb();
    else if (op === 0x43) reader.at += 4;
    else if (op === 0x44) reader.at += 8;
    else if (op === 0xfd && reader.u32() === 0x0c) reader.at += 16;
    // Extended constant expressions: add, sub, mul.
    else if (!(op === 0x6a || op === 0x6b || op === 0x6c || op === 0x7c || op === 0x7d || op === 0x7e)) {
      throw new Unsupported(`unsupported opcode 0x${op.toString(16)} in a constant expression`);
    }
  }
  out.copy(bytes, pending, reader.at);
}

function tableSection(bytes: Uint8Array, s: Section, out: Writer, renumber: Renumber): void {
  const reader = new Reader(bytes, s.body);
  const count = reader.u32();
  out.u32(count);
  for (let i = 0; i < count; i++) {
    const start = reader.at;
    // 0x40 0x00: a table with an initialiser expression.
    const initialised = bytes[start] === 0x40 && bytes[start + 1] === 0x00;
    if (initialised) reader.at += 2;
    reader.at = skipValueType(bytes, reader.at);
    skipLimits(reader);
    out.copy(bytes, start, reader.at);
    if (initialised) constExpr(bytes, reader, out, renumber);
  }
}

function globalSection(bytes: Uint8Array, s: Section, out: Writer, renumber: Renumber): void {
  const reader = new Reader(bytes, s.body);
  const count = reader.u32();
  out.u32(count);
  for (let i = 0; i < count; i++) {
    const start = reader.at;
    reader.at = skipValueType(bytes, reader.at) + 1;
    out.copy(bytes, start, reader.at);
    constExpr(bytes, reader, out, renumber);
  }
}

function exportSection(bytes: Uint8Array, s: Section, out: Writer, renumber: Renumber): void {
  const reader = new Reader(bytes, s.body);
  const count = reader.u32();
  out.u32(count);
  for (let i = 0; i < count; i++) {
    const start = reader.at;
    reader.name();
    const kind = reader.byte();
    out.copy(bytes, start, reader.at);
    const index = reader.u32();
    out.u32(kind === 0x00 ? renumber(index) : index);
  }
}

/** Element segments, in all eight encodings (flags bit 0: passive/declarative, bit 1: table index or declarative, bit 2: expressions). */
function elementSection(bytes: Uint8Array, s: Section, out: Writer, renumber: Renumber): void {
  const reader = new Reader(bytes, s.body);
  const count = reader.u32();
  out.u32(count);
  for (let i = 0; i < count; i++) {
    const flags = reader.u32();
    if (flags > 7) throw new Unsupported(`unknown element segment kind ${flags}`);
    out.u32(flags);
    const active = (flags & 1) === 0;
    if (active && flags & 2) out.u32(reader.u32()); // table index
    if (active) constExpr(bytes, reader, out, renumber); // offset
    const expressions = (flags & 4) !== 0;
    if (flags & 3) {
      // An element kind (0x00: functions) or a reference type.
      const start = reader.at;
      reader.at = expressions ? skipValueType(bytes, reader.at) : reader.at + 1;
      out.copy(bytes, start, reader.at);
    }
    const items = reader.u32();
    out.u32(items);
    for (let j = 0; j < items; j++) {
      if (expressions) constExpr(bytes, reader, out, renumber);
      else out.u32(renumber(reader.u32()));
    }
  }
}

/** Custom sections: `name` is renumbered; DWARF, whose code offsets no longer hold, is dropped; others are kept. */
function custom(bytes: Uint8Array, s: Section, out: Writer, renumber: Renumber): void {
  const reader = new Reader(bytes, s.body);
  const name = reader.name();
  if (name.startsWith(".debug_")) return;
  if (name !== "name") {
    out.copy(bytes, s.start, s.end);
    return;
  }
  const mark = out.at;
  try {
    out.byte(SECTION.custom);
    const size = out.beginSized();
    out.copy(bytes, s.body, reader.at);
    while (reader.at < s.end) {
      const id = reader.byte();
      const length = reader.u32();
      const end = reader.at + length;
      out.byte(id);
      const sub = out.beginSized();
      // 1: function names; 2: local names, 3: label names (both by function).
      if (id >= 1 && id <= 3) {
        const count = reader.u32();
        out.u32(count);
        for (let i = 0; i < count; i++) {
          out.u32(renumber(reader.u32()));
          const start = reader.at;
          if (id === 1) reader.name();
          else {
            for (let n = reader.u32(); n > 0; n--) {
              reader.u32();
              reader.name();
            }
          }
          out.copy(bytes, start, reader.at);
        }
        if (reader.at !== end) throw new Error("name subsection size mismatch");
      }
      out.copy(bytes, reader.at, end);
      reader.at = end;
      out.endSized(sub);
    }
    out.endSized(size);
  } catch {
    // Names are for debugging only: drop a section that does not parse rather than refuse the module.
    out.at = mark;
  }
}
