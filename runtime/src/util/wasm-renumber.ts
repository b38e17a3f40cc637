// The sections of a module that name functions by index, copied through with
// those indices renumbered (a function import was added before the defined
// functions): tables, globals, exports, element segments, the name section.
import { Reader, SECTION, type Section } from "./wasm-binary.js";
import { skipValueType } from "./wasm-body.js";
import { Unsupported, type Writer } from "./wasm-writer.js";

/** Table and memory limits: flags (bit 0: a maximum follows), minimum, maximum. */
export function skipLimits(reader: Reader): void {
  const flags = reader.byte();
  reader.u32();
  if (flags & 1) reader.u32();
}

export type Renumber = (f: number) => number;

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

export function tableSection(bytes: Uint8Array, s: Section, out: Writer, renumber: Renumber): void {
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

export function globalSection(bytes: Uint8Array, s: Section, out: Writer, renumber: Renumber): void {
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

export function exportSection(bytes: Uint8Array, s: Section, out: Writer, renumber: Renumber): void {
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
export function elementSection(bytes: Uint8Array, s: Section, out: Writer, renumber: Renumber): void {
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
export function customSection(bytes: Uint8Array, s: Section, out: Writer, renumber: Renumber): void {
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
          // Names are skipped, not decoded: a debug build names tens of thousands of functions.
          if (id === 1) skipName(reader);
          else {
            for (let n = reader.u32(); n > 0; n--) {
              reader.u32();
              skipName(reader);
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

function skipName(reader: Reader): void {
  const length = reader.u32();
  reader.at += length;
}
