// TextEncoder and TextDecoder (UTF-8, as the Encoding standard defines them)
// for engines that have none (QuickJS).

/** Encodes strings as UTF-8; lone surrogates become U+FFFD. */
export class TextEncoder {
  get encoding(): "utf-8" {
    return "utf-8";
  }

  encode(input = ""): Uint8Array<ArrayBuffer> {
    const text = String(input);
    const out = new Uint8Array(text.length * 3);
    return out.slice(0, this.encodeInto(text, out).written);
  }

  encodeInto(input: string, destination: Uint8Array): { read: number; written: number } {
    const text = String(input);
    let read = 0;
    let written = 0;
    for (let i = 0; i < text.length; i++) {
      let code = text.charCodeAt(i);
      let units = 1;
      if (code >= 0xd800 && code <= 0xdbff && i + 1 < text.length) {
        const next = text.charCodeAt(i + 1);
        if (next >= 0xdc00 && next <= 0xdfff) {
          code = 0x10000 + ((code - 0xd800) << 10) + (next - 0xdc00);
          units = 2;
        }
      }
      if (code >= 0xd800 && code <= 0xdfff) code = 0xfffd;
      const size = code < 0x80 ? 1 : code < 0x800 ? 2 : code < 0x10000 ? 3 : 4;
      if (written + size > destination.length) break;
      if (size === 1) destination[written++] = code;
      else if (size === 2) {
        destination[written++] = 0xc0 | (code >> 6);
        destination[written++] = 0x80 | (code & 0x3f);
      } else if (size === 3) {
        destination[written++] = 0xe0 | (code >> 12);
        destination[written++] = 0x80 | ((code >> 6) & 0x3f);
        destination[written++] = 0x80 | (code & 0x3f);
      } else {
        destination[written++] = 0xf0 | (code >> 18);
        destination[written++] = 0x80 | ((code >> 12) & 0x3f);
        destination[written++] = 0x80 | ((code >> 6) & 0x3f);
        destination[written++] = 0x80 | (code & 0x3f);
      }
      read += units;
      i += units - 1;
    }
    return { read, written };
  }
}

interface DecoderOptions {
  fatal?: boolean;
  ignoreBOM?: boolean;
}

/** Decodes UTF-8 (the only encoding it knows); malformed sequences become U+FFFD, or throw with `fatal`. */
export class TextDecoder {
  readonly fatal: boolean;
  readonly ignoreBOM: boolean;
  #pending = new Uint8Array(0);
  #bomSeen = false;

  constructor(label = "utf-8", options: DecoderOptions = {}) {
    const name = String(label).trim().toLowerCase();
    if (name !== "utf-8" && name !== "utf8" && name !== "unicode-1-1-utf-8") {
      throw new RangeError(`TextDecoder: the encoding "${label}" is not supported on this engine (only utf-8)`);
    }
    this.fatal = options.fatal === true;
    this.ignoreBOM = options.ignoreBOM === true;
  }

  get encoding(): "utf-8" {
    return "utf-8";
  }

  decode(input?: ArrayBuffer | ArrayBufferView | null, options: { stream?: boolean } = {}): string {
    let bytes: Uint8Array =
      input === undefined || input === null
        ? new Uint8Array(0)
        : input instanceof ArrayBuffer
          ? new Uint8Array(input)
          : ArrayBuffer.isView(input)
            ? new Uint8Array(input.buffer, input.byteOffset, input.byteLength)
            : fail("TextDecoder.decode: the input must be an ArrayBuffer or a view of one");
    if (this.#pending.length > 0) {
      const joined = new Uint8Array(this.#pending.length + bytes.length);
      joined.set(this.#pending);
      joined.set(bytes, this.#pending.length);
      bytes = joined;
      this.#pending = new Uint8Array(0);
    }
    const stream = options.stream === true;
    let out = "";
    let i = 0;
    if (!this.#bomSeen && !this.ignoreBOM && bytes.length >= 3 && bytes[0] === 0xef && bytes[1] === 0xbb && bytes[2] === 0xbf) i = 3;
    if (bytes.length > 0 || !stream) this.#bomSeen = stream;
    const codes: number[] = [];
    while (i < bytes.length) {
      const first = bytes[i]!;
      const size = first < 0x80 ? 1 : first >= 0xc2 && first <= 0xdf ? 2 : first >= 0xe0 && first <= 0xef ? 3 : first >= 0xf0 && first <= 0xf4 ? 4 : 0;
      if (size === 0) {
        codes.push(this.#malformed());
        i++;
        continue;
      }
      if (i + size > bytes.length && stream && this.#validPrefix(bytes, i)) {
        this.#pending = bytes.slice(i);
        break;
      }
      let code = size === 1 ? first : first & (0xff >> (size + 1));
      let used = 1;
      for (; used < size; used++) {
        const next = bytes[i + used];
        const low = used === 1 ? (first === 0xe0 ? 0xa0 : first === 0xf0 ? 0x90 : 0x80) : 0x80;
        const high = used === 1 ? (first === 0xed ? 0x9f : first === 0xf4 ? 0x8f : 0xbf) : 0xbf;
        if (next === undefined || next < low || next > high) break;
        code = (code << 6) | (next & 0x3f);
      }
      if (used < size) {
        codes.push(this.#malformed());
        i += used;
        continue;
      }
      codes.push(code);
      i += size;
      if (codes.length >= 8192) out += flush(codes);
    }
    return out + flush(codes);
  }

  #validPrefix(bytes: Uint8Array, at: number): boolean {
    const first = bytes[at]!;
    for (let k = at + 1; k < bytes.length; k++) {
      const low = k === at + 1 ? (first === 0xe0 ? 0xa0 : first === 0xf0 ? 0x90 : 0x80) : 0x80;
      const high = k === at + 1 ? (first === 0xed ? 0x9f : first === 0xf4 ? 0x8f : 0xbf) : 0xbf;
      if (bytes[k]! < low || bytes[k]! > high) return false;
    }
    return true;
  }

  #malformed(): number {
    if (this.fatal) throw new TypeError("TextDecoder.decode: the data is not valid UTF-8");
    return 0xfffd;
  }
}

function flush(codes: number[]): string {
  const text = String.fromCodePoint(...codes);
  codes.length = 0;
  return text;
}

function fail(message: string): never {
  throw new TypeError(message);
}
