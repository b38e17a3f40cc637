// Deterministic pre-initialisation of a core WebAssembly module (what wizer
// does for componentize-js): instantiate it, run its init function, and
// write a new module whose memory and globals start in the initialised state.
//
// Why not wizer itself: it hands the guest real randomness and the real clock
// during initialisation, and SpiderMonkey bakes both (hash seeds, timestamps)
// into the heap snapshot, so two builds of the same source differ. Here the
// guest sees a fixed clock and a seeded generator, so the same input always
// gives the same bytes, and V8's baseline compiler makes it faster too.
import { closeSync, openSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { WASI } from "node:wasi";
import { concat, encodeName, Reader, readSections, replaceSections, SECTION, section, sleb, uleb, vector, type Section } from "@wfn/runtime/wasm-binary";

const KIND_GLOBAL = 3;
/** The clock every pre-initialisation sees: 2023-11-14T22:13:20Z. */
const FIXED_TIME_NS = 1_700_000_000_000_000_000n;
/** Data segments are split at runs of zeros longer than this. */
const ZERO_RUN_SPLIT = 64;
const MAX_DATA_SEGMENTS = 10_000;

export interface PreinitOptions {
  /** Export to run once the module's own `_initialize` has run. */
  initFunc: string;
  env: Record<string, string>;
  /** Guest path → host path. */
  preopens: Record<string, string>;
  /** What the guest reads on stdin during initialisation. */
  stdin: string;
}

interface GlobalDef {
  type: number;
  mutable: number;
}

interface ExportDef {
  name: string;
  kind: number;
  index: number;
}

/** Pre-initialises `input` and returns the new module's bytes. */
export function preinitialize(input: Uint8Array, options: PreinitOptions): Uint8Array {
  const sections = readSections(input);
  const find = (id: number) => sections.find((s) => s.id === id);

  let importedGlobals = 0;
  const importSection = find(SECTION.import);
  if (importSection) {
    const r = new Reader(input, importSection.body);
    for (let n = r.u32(); n > 0; n--) {
      r.name();
      r.name();
      const kind = r.byte();
      if (kind === 0) r.u32();
      else if (kind === 1) {
        r.byte();
        const flags = r.u32();
        r.u32();
        if (flags & 1) r.u32();
      } else if (kind === 2) throw new Error("modules that import memory cannot be pre-initialised");
      else if (kind === KIND_GLOBAL) {
        r.byte();
        r.byte();
        importedGlobals++;
      } else throw new Error(`unsupported import kind ${kind}`);
    }
  }

  const globals: GlobalDef[] = [];
  const globalSection = find(SECTION.global);
  if (globalSection) {
    const r = new Reader(input, globalSection.body);
    for (let n = r.u32(); n > 0; n--) {
      globals.push({ type: r.byte(), mutable: r.byte() });
      r.skipConstExpr();
    }
  }

  const exportSection = find(SECTION.export);
  if (!exportSection) throw new Error("the module has no exports");
  const exports: ExportDef[] = [];
  {
    const r = new Reader(input, exportSection.body);
    for (let n = r.u32(); n > 0; n--) exports.push({ name: r.name(), kind: r.byte(), index: r.u32() });
  }
  const encodeExports = (list: ExportDef[]) => vector(list.map((e) => concat([encodeName(e.name), [e.kind], uleb(e.index)])));

  const memorySection = find(SECTION.memory);
  if (!memorySection) throw new Error("the module defines no memory");
  const memory = new Reader(input, memorySection.body);
  if (memory.u32() !== 1) throw new Error("only modules with exactly one memory can be pre-initialised");
  const memoryFlags = memory.byte();
  memory.u32();
  const memoryMax = memoryFlags & 1 ? memory.u32() : undefined;
  if (memoryFlags & ~1) throw new Error("shared or 64-bit memories cannot be pre-initialised");

  const rebuild = (replace: Map<Section, Uint8Array | null>) => replaceSections(input, sections, replace);

  // 1. Export every defined global so its value can be read after initialisation.
  const globalExport = (i: number) => `wfn-preinit-global-${i}`;
  const instrumented = rebuild(
    new Map([[exportSection, section(SECTION.export, encodeExports([...exports, ...globals.map((_, i) => ({ name: globalExport(i), kind: KIND_GLOBAL, index: importedGlobals + i }))]))]]),
  );

  // 2. Run the initialisation with a deterministic WASI.
  const { memoryBytes, globalValues } = run(new WebAssembly.Module(instrumented), options, globals.length, globalExport);

  // 3. Write the snapshot: globals, memory size, data segments; drop the init exports.
  const globalBody = vector(
    globals.map((g, i) => {
      const value = globalValues[i]!;
      let init: number[];
      if (g.type === 0x7f) init = [0x41, ...sleb(value)];
      else if (g.type === 0x7e) init = [0x42, ...sleb(value)];
      else throw new Error(`globals of type 0x${g.type.toString(16)} cannot be snapshotted`);
      return concat([[g.type, g.mutable], init, [0x0b]]);
    }),
  );
  const pages = memoryBytes.length / 65536;
  const memoryBody = vector([concat(memoryMax === undefined ? [[0x00], uleb(pages)] : [[0x01], uleb(pages), uleb(memoryMax)])]);
  const segments = dataSegments(memoryBytes);
  const dataBody = vector(segments.map(([from, to]) => concat([[0x00, 0x41], sleb(from | 0), [0x0b], uleb(to - from), memoryBytes.subarray(from, to)])));
  const keptExports = exports.filter((e) => e.name !== options.initFunc && e.name !== "_initialize");

  const replace = new Map<Section, Uint8Array | null>([
    [exportSection, section(SECTION.export, encodeExports(keptExports))],
    [memorySection, section(SECTION.memory, memoryBody)],
  ]);
  if (globalSection) replace.set(globalSection, section(SECTION.global, globalBody));
  const dataSection = find(SECTION.data);
  const dataCount = find(SECTION.dataCount);
  if (dataCount) replace.set(dataCount, section(SECTION.dataCount, Uint8Array.from(uleb(segments.length))));
  const startSection = find(SECTION.start);
  if (startSection) replace.set(startSection, null);
  if (dataSection) {
    assertActiveSegmentsOnly(input, dataSection);
    replace.set(dataSection, section(SECTION.data, dataBody));
    return rebuild(replace);
  }
  // No data section yet: add one at the end of the known sections (before custom sections is not required).
  return concat([rebuild(replace), section(SECTION.data, dataBody)]);
}

function assertActiveSegmentsOnly(bytes: Uint8Array, data: Section): void {
  const r = new Reader(bytes, data.body);
  for (let n = r.u32(); n > 0; n--) {
    const flags = r.u32();
    if (flags === 1) throw new Error("passive data segments cannot be pre-initialised");
    if (flags === 2) r.u32();
    r.skipConstExpr();
    const size = r.u32();
    r.at += size;
  }
}

/** Non-zero regions of memory, split at long zero runs, within the segment budget. */
function dataSegments(memory: Uint8Array): Array<[number, number]> {
  for (let gap = ZERO_RUN_SPLIT; ; gap *= 4) {
    const segments: Array<[number, number]> = [];
    let i = 0;
    while (i < memory.length) {
      while (i < memory.length && memory[i] === 0) i++;
      if (i >= memory.length) break;
      let end = i + 1;
      let zeros = 0;
      for (let k = i + 1; k < memory.length; k++) {
        if (memory[k] === 0) {
          if (++zeros > gap) break;
        } else {
          zeros = 0;
          end = k + 1;
        }
      }
      segments.push([i, end]);
      i = end;
    }
    if (segments.length <= MAX_DATA_SEGMENTS) return segments;
  }
}

function run(
  module: WebAssembly.Module,
  options: PreinitOptions,
  globalCount: number,
  globalExport: (i: number) => string,
): { memoryBytes: Uint8Array; globalValues: bigint[] } {
  const stdinPath = join(tmpdir(), `wfn-preinit-${process.pid}-${Math.random().toString(36).slice(2)}`);
  writeFileSync(stdinPath, options.stdin);
  const stdin = openSync(stdinPath, "r");
  try {
    const wasi = new WASI({ version: "preview1", args: [], env: options.env, preopens: options.preopens, stdin, returnOnExit: true });
    const wasiImports = (wasi.getImportObject() as { wasi_snapshot_preview1: Record<string, unknown> }).wasi_snapshot_preview1;
    let memory: WebAssembly.Memory | undefined;
    const random = splitmix64(0x243f6a8885a308d3n);
    const imports: Record<string, Record<string, unknown>> = {
      wasi_snapshot_preview1: {
        ...wasiImports,
        random_get(ptr: number, len: number) {
          const view = new Uint8Array(memory!.buffer, ptr, len);
          for (let i = 0; i < len; i++) view[i] = Number(random() & 0xffn);
          return 0;
        },
        clock_time_get(_id: number, _precision: bigint, out: number) {
          new DataView(memory!.buffer).setBigUint64(out, FIXED_TIME_NS, true);
          return 0;
        },
      },
    };
    for (const imp of WebAssembly.Module.imports(module)) {
      if (imp.module === "wasi_snapshot_preview1") continue;
      (imports[imp.module] ??= {})[imp.name] = () => {
        throw new Error(`${imp.module}#${imp.name} was called during pre-initialisation; host imports are not available at build time`);
      };
    }
    const instance = new WebAssembly.Instance(module, imports as WebAssembly.Imports);
    memory = instance.exports.memory as WebAssembly.Memory;
    if (!(memory instanceof WebAssembly.Memory)) throw new Error("the module does not export its memory as `memory`");
    wasi.initialize(instance);
    const init = instance.exports[options.initFunc];
    if (typeof init !== "function") throw new Error(`the module does not export ${options.initFunc}`);
    (init as () => void)();
    const globalValues = Array.from({ length: globalCount }, (_, i) => BigInt((instance.exports[globalExport(i)] as WebAssembly.Global).value as number | bigint));
    return { memoryBytes: new Uint8Array(memory.buffer), globalValues };
  } finally {
    closeSync(stdin);
    rmSync(stdinPath, { force: true });
  }
}

function splitmix64(seed: bigint): () => bigint {
  const mask = (1n << 64n) - 1n;
  let state = seed;
  return () => {
    state = (state + 0x9e3779b97f4a7c15n) & mask;
    let z = state;
    z = ((z ^ (z >> 30n)) * 0xbf58476d1ce4e5b9n) & mask;
    z = ((z ^ (z >> 27n)) * 0x94d049bb133111ebn) & mask;
    return z ^ (z >> 31n);
  };
}
