// The one-pass module rewrite behind every prepared component: memory capped
// at memoryMB, data segments lifted into an image the host writes itself.
import { describe, expect, it } from "vitest";
import { rewriteModule, writeMemoryImage, writeMemoryImageInPieces } from "../../runtime/src/util/wasm-binary.js";

// (module (memory (export "mem") 1 10) (data (i32.const 16) "hello") (data (i32.const 100) "world"))
const MODULE = Uint8Array.from([
  0x00, 0x61, 0x73, 0x6d, 0x01, 0x00, 0x00, 0x00,
  // memory: one, min 1 page, max 10
  0x05, 0x04, 0x01, 0x01, 0x01, 0x0a,
  // export "mem" = memory 0
  0x07, 0x07, 0x01, 0x03, 0x6d, 0x65, 0x6d, 0x02, 0x00,
  // data: two active segments at 16 and 100
  0x0b, 0x16, 0x02,
  0x00, 0x41, 0x10, 0x0b, 0x05, 0x68, 0x65, 0x6c, 0x6c, 0x6f,
  0x00, 0x41, 0xe4, 0x00, 0x0b, 0x05, 0x77, 0x6f, 0x72, 0x6c, 0x64,
]);

function memoryOf(bytes: Uint8Array<ArrayBuffer>): WebAssembly.Memory {
  const instance = new WebAssembly.Instance(new WebAssembly.Module(bytes));
  return instance.exports.mem as WebAssembly.Memory;
}

const text = (memory: WebAssembly.Memory, at: number, length: number) => new TextDecoder().decode(new Uint8Array(memory.buffer, at, length));

describe("rewriteModule", () => {
  it("lifts the data segments into an image that recreates the same memory", () => {
    const { module, image } = rewriteModule(MODULE, 4, true);
    expect(image).toBeDefined();
    expect([...image!.segments]).toEqual([16, 5, 100, 5]);
    expect(new TextDecoder().decode(image!.bytes.slice())).toBe("helloworld");
    expect(image!.bytes.buffer).toBeInstanceOf(SharedArrayBuffer);
    const memory = memoryOf(module);
    expect(text(memory, 16, 5)).toBe("\0\0\0\0\0");
    writeMemoryImage(memory, image!);
    expect(text(memory, 16, 5)).toBe("hello");
    expect(text(memory, 100, 5)).toBe("world");
  });

  it("writes the same image in pieces, pausing between them", async () => {
    const { module, image } = rewriteModule(MODULE, 4, true);
    const whole = memoryOf(module);
    writeMemoryImage(whole, image!);
    const pieces = memoryOf(module);
    let pauses = 0;
    // 3-byte pieces: both 5-byte segments are split, and a piece spans the two.
    await writeMemoryImageInPieces(pieces, image!, 3, async () => void pauses++);
    expect(pauses).toBe(3);
    expect(new Uint8Array(pieces.buffer)).toEqual(new Uint8Array(whole.buffer));
  });

  it("keeps the data segments in the module when asked to", () => {
    const { module, image } = rewriteModule(MODULE, 4, false);
    expect(image).toBeUndefined();
    expect(text(memoryOf(module), 100, 5)).toBe("world");
  });

  it("caps the memory's maximum, so growing past it fails", () => {
    const memory = memoryOf(rewriteModule(MODULE, 4, true).module);
    expect(() => memory.grow(4)).toThrow(RangeError);
    expect(memory.grow(3)).toBe(1);
    // A cap above the module's own maximum leaves that maximum.
    const loose = memoryOf(rewriteModule(MODULE, 64, true).module);
    expect(() => loose.grow(10)).toThrow(RangeError);
    expect(loose.grow(9)).toBe(1);
  });

  it("refuses a cap below what the module needs to start", () => {
    expect(() => rewriteModule(MODULE, 0, true)).toThrow(/needs 1 pages to start but the limit is 0/);
  });

  it("does not touch the input", () => {
    const copy = MODULE.slice();
    rewriteModule(copy, 4, true);
    expect(copy).toEqual(MODULE);
  });
});
