// Just enough of the WebAssembly binary format to read section headers,
// LEB128 numbers and constant expressions, and to write sections back.
// Used to cap a module's memory (host) and to pre-initialise modules (cli).

/** A section of a module: `start` is its id byte, `body` its contents, `end` one past them. */
export interface Section {
  id: number;
  start: number;
  body: number;
  end: number;
}

export const SECTION = { custom: 0, type: 1, import: 2, function: 3, table: 4, memory: 5, global: 6, export: 7, start: 8, element: 9, code: 10, data: 11, dataCount: 12 } as const;

/** A cursor over module bytes. */
export class Reader {
  constructor(
    readonly bytes: Uint8Array,
    public at: number,
  ) {}

  byte(): number {
    return this.bytes[this.at++]!;
  }

  u32(): number {
    let result = 0;
    let shift = 0;
    for (;;) {
      const b = this.byte();
      result |= (b & 0x7f) << shift;
      if ((b & 0x80) === 0) return result >>> 0;
      shift += 7;
    }
  }

  sleb(): bigint {
    let result = 0n;
    let shift = 0n;
    let b: number;
    do {
      b = this.byte();
      result |= BigInt(b & 0x7f) << shift;
      shift += 7n;
    } while (b & 0x80);
    if (b & 0x40) result -= 1n << shift;
    return result;
  }

  name(): string {
    const length = this.u32();
    const text = new TextDecoder().decode(this.bytes.subarray(this.at, this.at + length));
    this.at += length;
    return text;
  }

  /** Skips a constant expression, up to and including its `end`. */
  skipConstExpr(): void {
    for (;;) {
      const op = this.byte();
      if (op === 0x0b) return;
      if (op === 0x41 || op === 0x42 || op === 0x23 || op === 0xd2) this.sleb();
      else if (op === 0x43) this.at += 4;
      else if (op === 0x44) this.at += 8;
      else if (op === 0xd0) this.byte();
      else throw new Error(`unsupported opcode 0x${op.toString(16)} in a constant expression`);
    }
  }
}

export function uleb(value: number | bigint): number[] {
  let n = BigInt(value);
  const out: number[] = [];
  do {
    let b = Number(n & 0x7fn);
    n >>= 7n;
    if (n !== 0n) b |= 0x80;
    out.push(b);
  } while (n !== 0n);
  return out;
}

export function sleb(value: number | bigint): number[] {
  let n = BigInt(value);
  const out: number[] = [];
  for (;;) {
    const b = Number(n & 0x7fn);
    n >>= 7n;
    if ((n === 0n && (b & 0x40) === 0) || (n === -1n && (b & 0x40) !== 0)) {
      out.push(b);
      return out;
    }
    out.push(b | 0x80);
  }
}

export function concat(parts: ArrayLike<number>[]): Uint8Array<ArrayBuffer> {
  let size = 0;
  for (const part of parts) size += part.length;
  const out = new Uint8Array(size);
  let offset = 0;
  for (const part of parts) {
    out.set(part, offset);
    offset += part.length;
  }
  return out;
}

export const section = (id: number, body: Uint8Array): Uint8Array => concat([[id], uleb(body.length), body]);
export const vector = (items: Uint8Array[]): Uint8Array => concat([uleb(items.length), ...items]);
export const encodeName = (name: string): Uint8Array => {
  const bytes = new TextEncoder().encode(name);
  return concat([uleb(bytes.length), bytes]);
};

/** The sections of a module, in order. */
export function readSections(bytes: Uint8Array): Section[] {
  if (bytes[0] !== 0x00 || bytes[1] !== 0x61 || bytes[2] !== 0x73 || bytes[3] !== 0x6d) throw new Error("not a WebAssembly module");
  const reader = new Reader(bytes, 8);
  const sections: Section[] = [];
  while (reader.at < bytes.length) {
    const start = reader.at;
    const id = reader.byte();
    const size = reader.u32();
    sections.push({ id, start, body: reader.at, end: reader.at + size });
    reader.at += size;
  }
  return sections;
}

/** Rebuilds a module with some sections replaced (a Uint8Array) or removed (null). */
export function replaceSections(bytes: Uint8Array, sections: Section[], replace: Map<Section, Uint8Array | null>): Uint8Array<ArrayBuffer> {
  const parts: Uint8Array[] = [bytes.subarray(0, 8)];
  for (const s of sections) {
    const replacement = replace.get(s);
    if (replacement === undefined) parts.push(bytes.subarray(s.start, s.end));
    else if (replacement !== null) parts.push(replacement);
  }
  return concat(parts);
}

/** The limits of the memories a module defines (not those it imports). */
export function definedMemories(bytes: Uint8Array): Array<{ min: number; max: number | undefined }> {
  const memory = readSections(bytes).find((s) => s.id === SECTION.memory);
  if (memory === undefined) return [];
  const reader = new Reader(bytes, memory.body);
  const memories: Array<{ min: number; max: number | undefined }> = [];
  for (let n = reader.u32(); n > 0; n--) {
    const flags = reader.byte();
    if (flags & ~1) throw new Error("shared and 64-bit memories are not supported");
    const min = reader.u32();
    memories.push({ min, max: flags & 1 ? reader.u32() : undefined });
  }
  return memories;
}

/** A module's active data segments, lifted out to be written into memory after instantiation. */
export interface MemoryImage {
  /** The bytes of every segment, back to back (in shared memory: executors use them without copies). */
  bytes: Uint8Array;
  /** Pairs of (memory offset, length), one per segment, in order. */
  segments: Uint32Array;
}

/**
 * Rewrites a module in one pass (one new buffer: an 11 MB engine module
 * costs a page fault per 4 KiB of every copy on a small virtual machine):
 *
 * - every memory the module defines gets a maximum of `maxPages` (64 KiB
 *   pages), so `memory.grow` fails inside the guest beyond it (RangeError
 *   when the module needs more to start);
 * - with `liftData`, its data segments are removed and returned as a memory
 *   image, when every segment is active, targets memory 0 and has an
 *   `i32.const` offset (what a pre-initialised snapshot has). V8 initialises
 *   data segments far more slowly than a plain copy, so instances start
 *   faster when the host copies the image itself. `image` is undefined when
 *   the module does not qualify (its segments stay in the module).
 */
export function rewriteModule(bytes: Uint8Array, maxPages: number, liftData: boolean): { module: Uint8Array<ArrayBuffer>; image: MemoryImage | undefined } {
  const sections = readSections(bytes);
  const replace = new Map<Section, Uint8Array>();
  const memory = sections.find((s) => s.id === SECTION.memory);
  if (memory !== undefined) {
    const memories = definedMemories(bytes).map(({ min, max }) => {
      if (min > maxPages) throw new RangeError(`needs ${min} pages to start but the limit is ${maxPages}`);
      return concat([[0x01], uleb(min), uleb(Math.min(max ?? maxPages, maxPages))]);
    });
    replace.set(memory, section(SECTION.memory, vector(memories)));
  }
  const data = liftData ? sections.find((s) => s.id === SECTION.data) : undefined;
  const image = data === undefined ? undefined : liftSegments(bytes, data);
  if (data !== undefined && image !== undefined) {
    replace.set(data, section(SECTION.data, vector([])));
    const dataCount = sections.find((s) => s.id === SECTION.dataCount);
    if (dataCount !== undefined) replace.set(dataCount, section(SECTION.dataCount, Uint8Array.of(0)));
  }
  return { module: replaceSections(bytes, sections, replace), image };
}

/** The data section's segments as an image in shared memory, or undefined when they cannot be lifted (or are empty). */
function liftSegments(bytes: Uint8Array, data: Section): MemoryImage | undefined {
  const reader = new Reader(bytes, data.body);
  const count = reader.u32();
  const segments = new Uint32Array(count * 2);
  const starts: number[] = [];
  let total = 0;
  for (let i = 0; i < count; i++) {
    const flags = reader.u32();
    if (flags !== 0 && flags !== 2) return undefined;
    if (flags === 2 && reader.u32() !== 0) return undefined;
    if (reader.byte() !== 0x41) return undefined;
    const offset = Number(reader.sleb());
    if (reader.byte() !== 0x0b || offset < 0) return undefined;
    const length = reader.u32();
    starts.push(reader.at);
    reader.at += length;
    segments[i * 2] = offset;
    segments[i * 2 + 1] = length;
    total += length;
  }
  if (total === 0) return undefined;
  const image = new Uint8Array(new SharedArrayBuffer(total));
  let at = 0;
  for (let i = 0; i < count; i++) {
    const length = segments[i * 2 + 1]!;
    image.set(bytes.subarray(starts[i]!, starts[i]! + length), at);
    at += length;
  }
  return { bytes: image, segments };
}

/** Writes a memory image into a fresh instance's memory. */
export function writeMemoryImage(memory: WebAssembly.Memory, image: MemoryImage): void {
  const target = new Uint8Array(memory.buffer);
  const { bytes, segments } = image;
  let at = 0;
  for (let i = 0; i < segments.length; i += 2) {
    const length = segments[i + 1]!;
    target.set(bytes.subarray(at, at + length), segments[i]!);
    at += length;
  }
}

/**
 * {@link writeMemoryImage} in pieces of about `pieceBytes`, awaiting
 * `pause()` between them: writing an image touches every page of it for the
 * first time, which costs far more than the copy (about 12 ms for 3 MB on a
 * small VM), and one piece would hold the thread that long.
 */
export async function writeMemoryImageInPieces(memory: WebAssembly.Memory, image: MemoryImage, pieceBytes: number, pause: () => Promise<void>): Promise<void> {
  const target = new Uint8Array(memory.buffer);
  const { bytes, segments } = image;
  let at = 0;
  let piece = 0;
  for (let i = 0; i < segments.length; i += 2) {
    const offset = segments[i]!;
    const length = segments[i + 1]!;
    for (let done = 0; done < length; ) {
      const chunk = Math.min(length - done, pieceBytes - piece);
      target.set(bytes.subarray(at + done, at + done + chunk), offset + done);
      done += chunk;
      piece += chunk;
      if (piece >= pieceBytes) {
        await pause();
        piece = 0;
      }
    }
    at += length;
  }
}


/** The payload of the first top-level custom section called `name` of a module or component, if it has one. */
export function customSection(bytes: Uint8Array, name: string): Uint8Array | undefined {
  for (const section of readSections(bytes)) {
    if (section.id !== SECTION.custom) continue;
    const reader = new Reader(bytes, section.body);
    if (reader.name() === name) return bytes.subarray(reader.at, section.end);
  }
  return undefined;
}

/** `bytes` (a module or a component: both take custom sections anywhere) with a custom section `name` appended. */
export function withCustomSection(bytes: Uint8Array, name: string, payload: Uint8Array): Uint8Array<ArrayBuffer> {
  return concat([bytes, section(SECTION.custom, concat([encodeName(name), payload]))]);
}
