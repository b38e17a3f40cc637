// setTimeout and setInterval for the QuickJS engine, which has no event
// loop of its own. Timers wait in a list; while an invocation's promise is
// pending and no promise job is left to run, `settle` sleeps on the host's
// monotonic clock until the next timer is due (the host suspends the
// instance meanwhile: the sleep holds no thread) and runs it. Timers left
// when an invocation ends stay for the next one on the instance, as a
// pending timer would in StarlingMonkey's event loop between requests.
import { now, subscribeDuration } from "wasi:clocks/monotonic-clock@0.2.10";

interface Timer {
  /** Monotonic nanoseconds at which it is due. */
  due: number;
  /** Insertion order, so timers due at once run in the order they were set. */
  order: number;
  callback: (...args: unknown[]) => void;
  args: unknown[];
  /** Repeat period in ms (setInterval). */
  every?: number;
}

const timers = new Map<number, Timer>();
let lastId = 0;
let order = 0;
/** Promise jobs run per look at the timers: a chain of awaits settles within a few turns. */
const TURNS_PER_CHECK = 32;
/** Turns with no timer pending after which a promise is known never to settle. */
const TURNS_WITHOUT_WORK = 100_000;

// QuickJS passes a u64 as a number.
const monotonicNs = (): number => Number(now());

function delayNs(ms: unknown): number {
  const value = Number(ms);
  return (Number.isFinite(value) && value > 0 ? value : 0) * 1e6;
}

function add(callback: unknown, ms: unknown, args: unknown[], repeat: boolean): number {
  if (typeof callback !== "function") throw new TypeError("setTimeout/setInterval: the callback must be a function (a string of code is not run)");
  const id = ++lastId;
  const every = repeat ? Math.max(1, Number(ms) || 0) : undefined;
  timers.set(id, { due: monotonicNs() + delayNs(ms), order: ++order, callback: callback as Timer["callback"], args, ...(every === undefined ? {} : { every }) });
  return id;
}

export function setTimeout(callback: (...args: unknown[]) => void, ms?: number, ...args: unknown[]): number {
  return add(callback, ms, args, false);
}

export function setInterval(callback: (...args: unknown[]) => void, ms?: number, ...args: unknown[]): number {
  return add(callback, ms, args, true);
}

export function clearTimeout(id: unknown): void {
  timers.delete(Number(id));
}

export const clearInterval = clearTimeout;

function nextTimer(): [number, Timer] | undefined {
  let next: [number, Timer] | undefined;
  for (const entry of timers) {
    const [, timer] = entry;
    if (next === undefined || timer.due < next[1].due || (timer.due === next[1].due && timer.order < next[1].order)) next = entry;
  }
  return next;
}

/** Sleeps on the host until `due` (monotonic ns), if it is in the future. */
function sleepUntil(due: number): void {
  const wait = due - monotonicNs();
  if (wait <= 0) return;
  const pollable = subscribeDuration(Math.ceil(wait) as unknown as bigint);
  try {
    pollable.block();
  } finally {
    release(pollable);
  }
}

/** Drops a host resource now rather than when QuickJS collects it (componentize-qjs gives owned resources a Symbol.dispose method). */
function release(resource: object): void {
  const dispose = (Symbol as { dispose?: symbol }).dispose;
  if (dispose !== undefined) (resource as Record<symbol, (() => void) | undefined>)[dispose]?.();
}

/**
 * Waits for `promise`, running promise jobs and timers as an event loop
 * would, and returns what it settles to. Throws if it can never settle
 * (pending, with no job and no timer left that could settle it).
 */
export async function settle<T>(promise: Promise<T>): Promise<T> {
  let done = false;
  promise.then(
    () => (done = true),
    () => (done = true),
  );
  let idle = 0;
  for (let turn = 1; !done; turn++) {
    await undefined;
    if (done || turn % TURNS_PER_CHECK !== 0) continue;
    const next = nextTimer();
    if (next === undefined) {
      idle += TURNS_PER_CHECK;
      if (idle >= TURNS_WITHOUT_WORK) {
        throw new Error("the handler's promise never settles: it waits on something that nothing pending (no timer, no host call) will ever complete");
      }
      continue;
    }
    idle = 0;
    const [id, timer] = next;
    sleepUntil(timer.due);
    if (timer.every === undefined) timers.delete(id);
    else timer.due = monotonicNs() + timer.every * 1e6;
    try {
      timer.callback(...timer.args);
    } catch (error) {
      // As in a browser: a timer callback's exception does not stop the others; it is reported.
      console.error("Uncaught exception in a timer callback:", error);
    }
  }
  return promise;
}
