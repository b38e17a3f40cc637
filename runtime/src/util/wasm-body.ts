// Decodes function bodies instruction by instruction (a `loop` or a `call`
// cannot be found by scanning bytes: they also occur inside immediates) and
// copies them through, renumbering function indices and inserting a piece of
// code at the function's start and after every loop header.
//
// Understood: the MVP, sign extension, saturating truncation, bulk memory and
// table operations, reference types, multi-memory memargs, atomics (0xFE),
// SIMD and relaxed SIMD (0xFD), tail calls, typed function references
// (call_ref, br_on_null) and exception handling (legacy try/catch and
// try_table). Not understood (the module is refused): GC (0xFB), and any
// opcode outside these.
import { Unsupported, type Writer } from "./wasm-writer.js";

/** How a body is rewritten: function index `f` becomes `f` below `shiftFrom`, else `f + shift`. */
export interface BodyRewrite {
  shiftFrom: number;
  shift: number;
  /** Inserted after the locals and after every `loop <blocktype>`. */
  check: Uint8Array;
  /** Where in `check` its `if` is, and, when given, where each inserted `if` lands (offsets from the body's start). */
  ifAt: number;
  ifs?: number[];
}

// What follows an opcode (one byte) in the instruction stream.
const NONE = 1;
const LEB = 2; // one LEB128 (index, depth, constant, memory index, heap type)
const LEB2 = 3; // two LEB128s (call_indirect type and table)
const BLOCK = 4; // a block type
const LOOP = 5;
const FUNC = 6; // a function index: renumbered
const MEMARG = 7;
const BYTES4 = 8;
const BYTES8 = 9;
const BR_TABLE = 10;
const SELECT_T = 11;
const TRY_TABLE = 12;
const PREFIX_FC = 13;
const PREFIX_FD = 14;
const PREFIX_FE = 15;

/** Immediates by opcode; 0 is an opcode this decoder does not know. */
const IMMEDIATES = (() => {
  const table = new Uint8Array(256);
  const set = (kind: number, ...ops: number[]) => {
    for (const op of ops) table[op] = kind;
  };
  const range = (kind: number, from: number, to: number) => {
    for (let op = from; op <= to; op++) table[op] = kind;
  };
  set(NONE, 0x00, 0x01, 0x05, 0x0a, 0x0b, 0x0f, 0x19, 0x1a, 0x1b, 0xd1, 0xd3, 0xd5);
  set(BLOCK, 0x02, 0x04, 0x06);
  set(LOOP, 0x03);
  // catch, throw, rethrow, br, br_if, call_ref, return_call_ref, delegate
  set(LEB, 0x07, 0x08, 0x09, 0x0c, 0x0d, 0x14, 0x15, 0x18);
  set(BR_TABLE, 0x0e);
  set(FUNC, 0x10, 0x12, 0xd2);
  set(LEB2, 0x11, 0x13);
  set(SELECT_T, 0x1c);
  set(TRY_TABLE, 0x1f);
  // local.get/set/tee, global.get/set, table.get/set
  range(LEB, 0x20, 0x26);
  range(MEMARG, 0x28, 0x3e);
  // memory.size, memory.grow (a memory index), i32.const, i64.const
  range(LEB, 0x3f, 0x42);
  set(BYTES4, 0x43);
  set(BYTES8, 0x44);
  // numeric instructions, then sign extension
  range(NONE, 0x45, 0xc4);
  // ref.null (a heap type), br_on_null, br_on_non_null
  set(LEB, 0xd0, 0xd4, 0xd6);
  set(PREFIX_FC, 0xfc);
  set(PREFIX_FD, 0xfd);
  set(PREFIX_FE, 0xfe);
  return table;
})();

const hex = (n: number) => `0x${n.toString(16).padStart(2, "0")}`;

/**
 * Appends the rewritten body `bytes[start, end)` (locals and code, without
 * its size) to `out`; returns the number of checks inserted.
 */
export function rewriteBody(bytes: Uint8Array, start: number, end: number, out: Writer, rewrite: BodyRewrite): number {
  const { shiftFrom, shift, check, ifAt, ifs } = rewrite;
  const bodyStart = out.at;
  let p = start;
  // Locals: a vector of (count, value type).
  let groups = 0;
  for (let shift = 0, b = 0x80; b & 0x80; shift += 7) {
    b = bytes[p++]!;
    groups |= (b & 0x7f) << shift;
  }
  for (let i = 0; i < groups; i++) {
    while (bytes[p++]! & 0x80);
    p = skipValueType(bytes, p);
  }
  out.copy(bytes, start, p);
  ifs?.push(out.at + ifAt - bodyStart);
  out.append(check);
  let checks = 1;
  // Input from here up to `p` not yet copied to the output.
  let pending = p;
  while (p < end) {
    const op = bytes[p++]!;
    switch (IMMEDIATES[op]) {
      case NONE:
        break;
      case LEB:
        while (bytes[p++]! & 0x80);
        break;
      case LEB2:
        while (bytes[p++]! & 0x80);
        while (bytes[p++]! & 0x80);
        break;
      case BLOCK:
        p = skipBlockType(bytes, p);
        break;
      case LOOP:
        p = skipBlockType(bytes, p);
        out.copy(bytes, pending, p);
        ifs?.push(out.at + ifAt - bodyStart);
        out.append(check);
        pending = p;
        checks++;
        break;
      case FUNC: {
        out.copy(bytes, pending, p);
        let f = 0;
        for (let shift = 0, b = 0x80; b & 0x80; shift += 7) {
          b = bytes[p++]!;
          f |= (b & 0x7f) << shift;
        }
        f >>>= 0;
        out.u32(f < shiftFrom ? f : f + shift);
        pending = p;
        break;
      }
      case MEMARG:
        p = skipMemarg(bytes, p);
        break;
      case BYTES4:
        p += 4;
        break;
      case BYTES8:
        p += 8;
        break;
      case BR_TABLE: {
        // The targets, then the default.
        let n = 0;
        for (let shift = 0, b = 0x80; b & 0x80; shift += 7) {
          b = bytes[p++]!;
          n |= (b & 0x7f) << shift;
        }
        for (let i = 0; i <= n; i++) while (bytes[p++]! & 0x80);
        break;
      }
      case SELECT_T: {
        let n = 0;
        for (let shift = 0, b = 0x80; b & 0x80; shift += 7) {
          b = bytes[p++]!;
          n |= (b & 0x7f) << shift;
        }
        for (let i = 0; i < n; i++) p = skipValueType(bytes, p);
        break;
      }
      case TRY_TABLE: {
        p = skipBlockType(bytes, p);
        let n = 0;
        for (let shift = 0, b = 0x80; b & 0x80; shift += 7) {
          b = bytes[p++]!;
          n |= (b & 0x7f) << shift;
        }
        for (let i = 0; i < n; i++) {
          const kind = bytes[p++]!;
          if (kind > 3) throw new Unsupported(`unknown catch clause ${hex(kind)} in try_table`);
          // catch and catch_ref name a tag before the label.
          if (kind < 2) while (bytes[p++]! & 0x80);
          while (bytes[p++]! & 0x80);
        }
        break;
      }
      case PREFIX_FC:
        p = skipPrefixFC(bytes, p);
        break;
      case PREFIX_FD:
        p = skipPrefixFD(bytes, p);
        break;
      case PREFIX_FE:
        p = skipPrefixFE(bytes, p);
        break;
      default:
        throw new Unsupported(op === 0xfb ? "garbage-collection instructions (0xfb) are not supported" : `unknown opcode ${hex(op)}`);
    }
  }
  if (p !== end) throw new Unsupported("a function body ends inside an instruction");
  out.copy(bytes, pending, end);
  return checks;
}

/** A value type: one byte, or (ref null? <heap type>). */
export function skipValueType(bytes: Uint8Array, p: number): number {
  const b = bytes[p++]!;
  if (b === 0x63 || b === 0x64) while (bytes[p++]! & 0x80);
  return p;
}

/** Empty (0x40), a value type, or a type index (s33). */
function skipBlockType(bytes: Uint8Array, p: number): number {
  const b = bytes[p]!;
  if (b === 0x63 || b === 0x64) return skipValueType(bytes, p);
  while (bytes[p++]! & 0x80);
  return p;
}

/** Alignment flags (bit 6: a memory index follows), then the offset. */
function skipMemarg(bytes: Uint8Array, p: number): number {
  const flags = bytes[p]!;
  while (bytes[p++]! & 0x80);
  if (flags & 0x40) while (bytes[p++]! & 0x80);
  while (bytes[p++]! & 0x80);
  return p;
}

function subOpcode(bytes: Uint8Array, p: number): [number, number] {
  let op = 0;
  for (let shift = 0, b = 0x80; b & 0x80; shift += 7) {
    b = bytes[p++]!;
    op |= (b & 0x7f) << shift;
  }
  return [op >>> 0, p];
}

function skipLebs(bytes: Uint8Array, p: number, n: number): number {
  for (let i = 0; i < n; i++) while (bytes[p++]! & 0x80);
  return p;
}

/** Saturating truncation, bulk memory, table operations. */
function skipPrefixFC(bytes: Uint8Array, at: number): number {
  const [op, p] = subOpcode(bytes, at);
  if (op <= 7) return p; // trunc_sat
  switch (op) {
    case 8: // memory.init data memory
    case 10: // memory.copy memory memory
    case 12: // table.init element table
    case 14: // table.copy table table
      return skipLebs(bytes, p, 2);
    case 9: // data.drop
    case 11: // memory.fill
    case 13: // elem.drop
    case 15: // table.grow
    case 16: // table.size
    case 17: // table.fill
      return skipLebs(bytes, p, 1);
    default:
      throw new Unsupported(`unknown instruction 0xfc ${op}`);
  }
}

/** SIMD and relaxed SIMD. */
function skipPrefixFD(bytes: Uint8Array, at: number): number {
  const [op, p] = subOpcode(bytes, at);
  if (op <= 0x0b || op === 0x5c || op === 0x5d) return skipMemarg(bytes, p); // loads, stores, load_zero
  if (op === 0x0c || op === 0x0d) return p + 16; // v128.const, i8x16.shuffle
  if (op >= 0x15 && op <= 0x22) return p + 1; // extract_lane, replace_lane
  if (op >= 0x54 && op <= 0x5b) return skipMemarg(bytes, p) + 1; // load_lane, store_lane
  // Every other SIMD instruction, up to the last relaxed one, has no immediates.
  if (op <= 0x113) return p;
  throw new Unsupported(`unknown instruction 0xfd ${op}`);
}

/** Atomics. */
function skipPrefixFE(bytes: Uint8Array, at: number): number {
  const [op, p] = subOpcode(bytes, at);
  if (op <= 0x02 || (op >= 0x10 && op <= 0x4e)) return skipMemarg(bytes, p); // notify, wait, loads, stores, rmw
  if (op === 0x03) return p + 1; // atomic.fence 0x00
  throw new Unsupported(`unknown instruction 0xfe ${op}`);
}
