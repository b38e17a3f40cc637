// Schedules: each function with a `schedule` is invoked asynchronously at
// every due time, with an EventBridge-style Scheduled Event. Every firing is
// claimed in the store first, so it never runs twice; a firing due while the
// previous one still runs (its invocation is still in the store, whichever
// host of a shared store took it) is skipped unless the schedule allows
// overlap; a firing missed while the host was down is replayed only with
// `catchUp`.
import { randomUUID } from "node:crypto";
import { isDeepStrictEqual } from "node:util";
import type { EventValue } from "@wfn/sdk/abi";
import type { ScheduleConfig } from "../config/function-config.js";
import type { LogSink } from "../observe/log.js";
import type { Store } from "../store/store.js";
import { parseSchedule, type Schedule } from "./schedule-expression.js";

export interface ScheduleStatus {
  function: string;
  expression: string;
  timezone: string | undefined;
  /** Next due time (ISO), if any. */
  next: string | undefined;
  /** Last firing taken (ISO), if any. */
  last: string | undefined;
  running: boolean;
}

interface Armed {
  fn: string;
  config: ScheduleConfig;
  schedule: Schedule;
  timer: NodeJS.Timeout | undefined;
  next: number | undefined;
  last: number | undefined;
}

/** The longest a Node timer can wait. */
const MAX_TIMER_MS = 2 ** 31 - 1;

export class Schedules {
  readonly #store: Store;
  readonly #fire: (fn: string, event: EventValue, requestId: string) => Promise<void>;
  readonly #log: LogSink;
  readonly #armed = new Map<string, Armed>();
  #closed = false;

  /**
   * @param fire accepts the firing as an asynchronous invocation (stored until it is done)
   */
  constructor(store: Store, fire: (fn: string, event: EventValue, requestId: string) => Promise<void>, log: LogSink) {
    this.#store = store;
    this.#fire = fire;
    this.#log = log;
  }

  /** Arms (or re-arms, or with `config` undefined disarms) a function's schedule. */
  async set(fn: string, config: ScheduleConfig | undefined): Promise<void> {
    const previous = this.#armed.get(fn);
    if (previous !== undefined && config !== undefined && isDeepStrictEqual(previous.config, config)) return;
    if (previous !== undefined) {
      clearTimeout(previous.timer);
      this.#armed.delete(fn);
    }
    if (config === undefined || this.#closed) return;
    const schedule = parseSchedule(config.expression, config.timezone);
    if (typeof schedule === "string") throw new Error(`function ${fn}: schedule ${schedule}`);
    // Firings still running under the previous schedule count against overlap under the new one (the store knows them).
    const armed: Armed = { fn, config, schedule, timer: undefined, next: undefined, last: await this.#store.lastFiring(fn) };
    this.#armed.set(fn, armed);
    if (config.catchUp && armed.last !== undefined) {
      const missed = schedule.previous(Date.now());
      if (missed !== undefined && missed > armed.last) await this.#due(armed, missed, "caught up");
    }
    this.#arm(armed);
  }

  /** The armed schedules; `running` asks the store, so it is the fleet's answer on a shared one. */
  async list(): Promise<ScheduleStatus[]> {
    const armed = [...this.#armed.values()].sort((a, b) => a.fn.localeCompare(b.fn));
    return Promise.all(
      armed.map(async (armed) => ({
        function: armed.fn,
        expression: armed.config.expression,
        timezone: armed.config.timezone,
        next: armed.next === undefined ? undefined : new Date(armed.next).toISOString(),
        last: armed.last === undefined ? undefined : new Date(armed.last).toISOString(),
        running: await this.#store.firingRunning(armed.fn),
      })),
    );
  }

  close(): void {
    this.#closed = true;
    for (const armed of this.#armed.values()) clearTimeout(armed.timer);
    this.#armed.clear();
  }

  #arm(armed: Armed): void {
    if (this.#closed || this.#armed.get(armed.fn) !== armed) return;
    const next = armed.schedule.next(Date.now());
    armed.next = next;
    if (next === undefined) return;
    const wait = Math.max(0, next - Date.now());
    armed.timer = setTimeout(() => {
      if (wait > MAX_TIMER_MS) return this.#arm(armed);
      void this.#due(armed, next, "due").finally(() => this.#arm(armed));
    }, Math.min(wait, MAX_TIMER_MS));
  }

  async #due(armed: Armed, dueAt: number, why: string): Promise<void> {
    try {
      const requestId = randomUUID();
      if (!(await this.#store.claimFiring(armed.fn, dueAt, Date.now(), requestId))) return;
      armed.last = Math.max(armed.last ?? 0, dueAt);
      // The previous firing's invocation is still in the store: pending, running or retrying, on this host or another.
      if (!armed.config.allowOverlap && (await this.#store.firingRunning(armed.fn))) {
        this.#log({ time: Date.now(), level: "warn", source: "host", function: armed.fn, message: `schedule ${armed.config.expression}: firing due ${new Date(dueAt).toISOString()} skipped, the previous one still runs` });
        return;
      }
      await this.#fire(
        armed.fn,
        { tag: "schedule", val: { id: requestId, name: armed.fn, expression: armed.config.expression, time: new Date(dueAt).toISOString() } },
        requestId,
      );
      if (why !== "due") this.#log({ time: Date.now(), level: "info", source: "host", function: armed.fn, requestId, message: `schedule ${armed.config.expression}: ${why} the firing due ${new Date(dueAt).toISOString()}` });
    } catch (error) {
      this.#log({ time: Date.now(), level: "error", source: "host", function: armed.fn, message: `schedule ${armed.config.expression}: ${(error as Error).message}` });
    }
  }
}
