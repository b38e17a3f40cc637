// Stopping, or pausing, a guest that keeps its thread computing, without
// stopping the thread. The engine module of a component is instrumented
// (util/wasm-instrument.ts): at every function entry and loop header it
// reads the first word of a small shared memory, and calls `check` when it
// is set. Each executor has one such memory, which the host's main thread
// writes: "look" when an invocation on that executor passed its deadline,
// or when a guest there has computed for a time slice (or holds the thread
// when a new call arrives): the executor records in the same memory whether
// a guest computes, and since when.
// The instance whose code runs `check` then stops itself if its own
// invocation is past its deadline, or else, when asked to and when its stack
// can be suspended, gives the thread back (`yield`, a suspending import) and
// resumes after the executor has looked at its other work: one busy function
// cannot starve the others on its thread.
import { writeMemoryImage, writeMemoryImageInPieces, type MemoryImage } from "../util/wasm-binary.js";
import { INTERRUPT_IMPORTS } from "../util/wasm-instrument.js";
import type { CallState, WaitState } from "./call-state.js";

/** Words of an executor's interrupt memory (Int32 indices). */
export const INTERRUPT_FLAGS = {
  /** Read by the instrumented code: non-zero makes it call `check`. */
  LOOK: 0,
  /** Since when a guest computes on the executor ({@link clockStamp} of when it started or resumed), 0 while none does. */
  COMPUTING_SINCE: 1,
  /** The executor's number for the instance asked to give the thread back, plus one; 0 when none is. */
  YIELD: 2,
  /** The executor's number for the instance whose guest computes (meaningful while COMPUTING_SINCE is set). */
  COMPUTING_INSTANCE: 3,
  /** Requests the executor runs itself (it accepts HTTP): the main thread watches time slices while any run. */
  LOCAL_CALLS: 4,
} as const;

/** The time slice: a guest computing this long (up to twice as long) is asked to give its thread back. */
export const SLICE_MS = 2;

/** Stamps count tenths of a millisecond and wrap every 2^30 of them (30 hours); elapsed times are taken modulo that. */
const STAMP_MASK = 0x3fff_ffff;
const STAMPS_PER_MS = 10;

/** Now, as a non-zero stamp of 30 bits (the monotonic clock, the same on every thread). */
function clockStamp(): number {
  const [seconds, nanoseconds] = process.hrtime();
  return (seconds * 10_000 + Math.floor(nanoseconds / 100_000)) & STAMP_MASK || 1;
}

/** Milliseconds (to a tenth) a guest has been computing on the executor owning `flags`, or -1 when none is (any thread may call this). */
export function computingFor(flags: Int32Array): number {
  const since = Atomics.load(flags, INTERRUPT_FLAGS.COMPUTING_SINCE);
  return since === 0 ? -1 : ((clockStamp() - since) & STAMP_MASK) / STAMPS_PER_MS;
}

/** The instance whose guest computes on the executor owning `flags` (read with {@link computingFor}). */
export function computingInstance(flags: Int32Array): number {
  return Atomics.load(flags, INTERRUPT_FLAGS.COMPUTING_INSTANCE);
}

/** This executor's interrupt memory, as words, where {@link guestRuns} and {@link guestWaits} record what the thread does. */
let ownFlags: Int32Array | undefined;

/** Called once by an executor thread with its interrupt memory. */
export function recordComputingIn(flags: WebAssembly.Memory): void {
  ownFlags = new Int32Array(flags.buffer);
}

/** The guest of `instance` starts or resumes computing on this thread. */
export function guestRuns(instance: number): void {
  if (ownFlags === undefined) return;
  Atomics.store(ownFlags, INTERRUPT_FLAGS.COMPUTING_INSTANCE, instance);
  Atomics.store(ownFlags, INTERRUPT_FLAGS.COMPUTING_SINCE, clockStamp());
}

/** The guest computing on this thread suspended or returned. */
export function guestWaits(): void {
  if (ownFlags !== undefined) Atomics.store(ownFlags, INTERRUPT_FLAGS.COMPUTING_SINCE, 0);
}

/**
 * What every suspending import returns: `promise`, marking the guest as
 * computing again when it settles (it is about to resume) — unless its
 * instance was abandoned meanwhile: then a promise that never settles, so
 * that its stack is never resumed, by a value or by an error. A fresh one
 * each time: nothing outside the abandoned stack refers to it, so both are
 * collected.
 */
export function resuming<T>(promise: Promise<T>, state: WaitState): Promise<T> {
  guestWaits();
  return promise.then(
    (value) => {
      if (state.abandoned) return new Promise<never>(() => {});
      guestRuns(state.instance);
      return value;
    },
    (error: unknown) => {
      if (state.abandoned) return new Promise<never>(() => {});
      guestRuns(state.instance);
      throw error;
    },
  );
}

/** JSPI's wrapper for a host function whose promise suspends the calling wasm stack (Node >= 24; not in TypeScript's library yet). */
const { Suspending } = WebAssembly as unknown as { Suspending: new (fn: () => unknown) => WebAssembly.ImportValue };

/** Thrown into a guest that runs past its deadline: it unwinds the whole call, and the instance is discarded. */
export class Interrupted extends Error {
  override name = "Interrupted";
}

/** The interrupt memory of one executor: one page, shared with the host's main thread. */
export function interruptMemory(): WebAssembly.Memory {
  return new WebAssembly.Memory({ initial: 1, maximum: 1, shared: true });
}

/** Asks whatever computes on the executor owning `flags` to look at its deadline (any thread may call this). */
export function requestInterrupt(flags: Int32Array): void {
  Atomics.store(flags, INTERRUPT_FLAGS.LOOK, 1);
}

/**
 * Asks the guest of `instance` to give the thread of the executor owning
 * `flags` back, if it still computes there at its next check (any thread may
 * call this). A request for a guest that suspended or returned meanwhile is
 * dropped: the guest computing next has just begun its own slice.
 */
export function requestYield(flags: Int32Array, instance: number): void {
  Atomics.store(flags, INTERRUPT_FLAGS.YIELD, instance + 1);
  Atomics.store(flags, INTERRUPT_FLAGS.LOOK, 1);
}

/**
 * JavaScript frames the host has on the current stack (this thread): a guest
 * can be suspended only where its stack is wasm from the promising export
 * down, never inside a call the glue or the host made into it (a realloc
 * while lowering a result, an instantiation).
 */
let hostFrames = 0;

/** Runs `body`, a call from JavaScript into a guest's code, with its stack marked as not suspendable. */
export function fromHost<T>(body: () => T): T {
  hostFrames++;
  try {
    return body();
  } finally {
    hostFrames--;
  }
}

/** Wraps a core export the glue calls from JavaScript (its `wfn:glue` guard hook), see {@link fromHost}. */
export function guardCoreCall<F extends (...args: never[]) => unknown>(fn: F): F {
  return ((...args: Parameters<F>) => fromHost(() => fn(...args))) as F;
}

/**
 * Guests waiting to go on after giving their thread back. One is resumed per
 * turn of the event loop (`setImmediate` queued from the previous one runs
 * on the next turn), so that between any two slices the executor reads its
 * messages and I/O: a waiting invocation starts within about one slice.
 */
const turns: Array<() => void> = [];
let pumping = false;

/**
 * Work for the next turn of the event loop that must not wait behind a
 * guest's slice: answers written by the executor itself. `setImmediate`
 * callbacks run in the order they were queued, and the resumption of a
 * yielded guest was queued a turn earlier, so without this an answer ready
 * in this turn went out only after another guest computed a whole slice.
 */
let early: Array<() => void> = [];
let earlyQueued = false;

function runEarly(): void {
  earlyQueued = false;
  const work = early;
  early = [];
  for (const job of work) job();
}

/** Runs `job` on the next turn of the event loop, before any guest that gave its thread back resumes then. */
export function beforeNextSlice(job: () => void): void {
  early.push(job);
  if (!earlyQueued) {
    earlyQueued = true;
    setImmediate(runEarly);
  }
}

function pump(): void {
  if (early.length > 0) runEarly();
  turns.shift()?.();
  if (turns.length > 0) setImmediate(pump);
  else pumping = false;
}

/** A turn for a guest that gave its thread back; never, when its instance was abandoned meanwhile. */
function nextTurn(call: CallState): Promise<void> {
  const turn = new Promise<void>((resolve) => {
    turns.push(resolve);
    if (!pumping) {
      pumping = true;
      setImmediate(pump);
    }
  });
  return resuming(turn, call);
}

/** What the instances of an executor need to be interruptible. */
export interface InterruptSupply {
  /** The instrumented modules, with the limits of the memory each imports. */
  memories: ReadonlyMap<WebAssembly.Module, { initial: number; maximum: number | undefined }>;
  /** The executor's interrupt memory. */
  flags: WebAssembly.Memory;
}

/**
 * The `check` of one instance: stops its call once past its deadline; else
 * answers 1 (the guest then calls `yield`) when the thread was asked back and
 * this stack can be suspended.
 */
function checkFor(flags: Int32Array, call: CallState): () => number {
  return () => {
    Atomics.store(flags, INTERRUPT_FLAGS.LOOK, 0);
    if (call.deadlineMs > 0 && Date.now() >= call.deadlineMs) {
      throw new Interrupted("the invocation ran past its timeout and was stopped");
    }
    // A request that cannot be served here is dropped: it comes again while the thread stays busy.
    return Atomics.exchange(flags, INTERRUPT_FLAGS.YIELD, 0) === call.instance + 1 && call.running && hostFrames === 0 ? 1 : 0;
  };
}

/** The memories an instance's instrumented modules import, their data images written in. */
export type PreparedMemories = ReadonlyMap<WebAssembly.Module, WebAssembly.Memory>;

/** Bytes of a data image written per turn of the event loop by {@link prepareMemories} (about 1 ms of page faults here). */
const IMAGE_PIECE_BYTES = 256 * 1024;

function newMemory(limits: { initial: number; maximum: number | undefined }): WebAssembly.Memory {
  return new WebAssembly.Memory(limits.maximum === undefined ? { initial: limits.initial } : { initial: limits.initial, maximum: limits.maximum });
}

/**
 * Makes the memories of a new instance's instrumented modules and writes
 * their data images in, a piece per turn of the event loop, so that the calls
 * running on this thread go on meanwhile (the image of a JavaScript engine
 * is megabytes; written at once, it held the thread for most of an
 * instance's creation).
 */
export async function prepareMemories(supply: InterruptSupply, images: ReadonlyMap<WebAssembly.Module, MemoryImage>): Promise<PreparedMemories> {
  const memories = new Map<WebAssembly.Module, WebAssembly.Memory>();
  const nextTurn = () => new Promise<void>((resolve) => setImmediate(resolve));
  for (const [module, limits] of supply.memories) {
    const memory = newMemory(limits);
    const image = images.get(module);
    if (image !== undefined) await writeMemoryImageInPieces(memory, image, IMAGE_PIECE_BYTES, nextTurn);
    memories.set(module, memory);
  }
  return memories;
}

/**
 * The `wfn:interrupt` imports of `module` for one instance (undefined when
 * it is not instrumented): its own memory (`prepared`, or created here with
 * the data image written in before instantiation), the executor's flags, and
 * its `check`.
 */
export function interruptImports(
  supply: InterruptSupply,
  module: WebAssembly.Module,
  image: MemoryImage | undefined,
  call: CallState,
  prepared?: WebAssembly.Memory,
): { imports: WebAssembly.Imports; memory: WebAssembly.Memory } | undefined {
  const limits = supply.memories.get(module);
  if (limits === undefined) return undefined;
  let memory = prepared;
  if (memory === undefined) {
    memory = newMemory(limits);
    // Before instantiation: a start function would see the memory as the data segments left it.
    if (image !== undefined) writeMemoryImage(memory, image);
  }
  const check = checkFor(new Int32Array(supply.flags.buffer), call);
  const turn = new Suspending(() => nextTurn(call));
  return {
    imports: {
      [INTERRUPT_IMPORTS.module]: { [INTERRUPT_IMPORTS.memory]: memory, [INTERRUPT_IMPORTS.flags]: supply.flags, [INTERRUPT_IMPORTS.check]: check, [INTERRUPT_IMPORTS.yield]: turn },
    },
    memory,
  };
}
