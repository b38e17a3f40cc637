// A growable output buffer for rewriting modules in one pass: unchanged runs
// of the input are copied through, and sizes (of sections, of function
// bodies) are written once their contents are known.

/** Thrown for a module the rewriter does not understand; callers turn it into a reason. */
export class Unsupported extends Error {}

/** Bytes a u32 takes as (minimal) LEB128. */
export function ulebLength(value: number): number {
  return value < 0x80 ? 1 : value < 0x4000 ? 2 : value < 0x200000 ? 3 : value < 0x10000000 ? 4 : 5;
}

/** Room left for a size written later: the longest u32 LEB128. */
const SIZE_ROOM = 5;

export class Writer {
  bytes: Uint8Array<ArrayBuffer>;
  at = 0;

  constructor(capacity: number) {
    this.bytes = new Uint8Array(capacity);
  }

  ensure(n: number): void {
    if (this.at + n <= this.bytes.length) return;
    const grown = new Uint8Array(Math.max(Math.ceil(this.bytes.length * 1.5), this.at + n));
    grown.set(this.bytes.subarray(0, this.at));
    this.bytes = grown;
  }

  byte(value: number): void {
    this.ensure(1);
    this.bytes[this.at++] = value;
  }

  u32(value: number): void {
    this.ensure(SIZE_ROOM);
    const bytes = this.bytes;
    let at = this.at;
    while (value >= 0x80) {
      bytes[at++] = (value & 0x7f) | 0x80;
      value >>>= 7;
    }
    bytes[at++] = value;
    this.at = at;
  }

  /** Appends `source[from, to)`. */
  copy(source: Uint8Array, from: number, to: number): void {
    const n = to - from;
    if (n <= 0) return;
    this.ensure(n);
    // A subarray costs an allocation: short runs (most, between two calls) are copied by hand.
    if (n < 16) {
      const bytes = this.bytes;
      let at = this.at;
      for (let i = from; i < to; i++) bytes[at++] = source[i]!;
    } else {
      this.bytes.set(source.subarray(from, to), this.at);
    }
    this.at += n;
  }

  append(values: ArrayLike<number>): void {
    this.ensure(values.length);
    this.bytes.set(values, this.at);
    this.at += values.length;
  }

  /** Reserves room for the size of what follows; `endSized` writes it. */
  beginSized(): number {
    this.ensure(SIZE_ROOM);
    const mark = this.at;
    this.at += SIZE_ROOM;
    return mark;
  }

  /** Writes the size of everything since `beginSized` in front of it, minimally encoded (moving it back). */
  endSized(mark: number): void {
    const start = mark + SIZE_ROOM;
    const size = this.at - start;
    const length = ulebLength(size);
    let value = size;
    for (let i = 0; i < length - 1; i++) {
      this.bytes[mark + i] = (value & 0x7f) | 0x80;
      value >>>= 7;
    }
    this.bytes[mark + length - 1] = value;
    if (length < SIZE_ROOM) {
      this.bytes.copyWithin(mark + length, start, this.at);
      this.at -= SIZE_ROOM - length;
    }
  }

  /**
   * The bytes written. A view of the buffer when it is nearly full (copying
   * 12 MB costs more than the slack kept), else a copy of their own size.
   */
  finish(): Uint8Array<ArrayBuffer> {
    return this.bytes.length - this.at <= this.at / 8 ? this.bytes.subarray(0, this.at) : this.bytes.slice(0, this.at);
  }
}
