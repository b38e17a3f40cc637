// The word an executor keeps for the host: whether a guest computes on it,
// and since when. The host reads it to ask a guest that has held the thread
// for a slice — or that holds it when a new call arrives — to give it back.
import { describe, expect, it } from "vitest";
import { computingFor, computingInstance, guestRuns, guestWaits, interruptMemory, recordComputingIn, resuming } from "../../runtime/src/sandbox/interrupt.js";

describe("the computing word", () => {
  const memory = interruptMemory();
  const flags = new Int32Array(memory.buffer);
  recordComputingIn(memory);

  it("says no guest computes until one runs, which one, and again none once it waits", () => {
    expect(computingFor(flags)).toBe(-1);
    guestRuns(7);
    expect(computingFor(flags)).toBeGreaterThanOrEqual(0);
    expect(computingInstance(flags)).toBe(7);
    guestWaits();
    expect(computingFor(flags)).toBe(-1);
  });

  it("counts the milliseconds since the guest started", async () => {
    guestRuns(1);
    const started = Date.now();
    while (Date.now() - started < 30) {
      // the guest computes
    }
    expect(computingFor(flags)).toBeGreaterThanOrEqual(29);
    guestWaits();
  });

  it("marks a guest waiting while an import's promise is pending, and computing again when it settles", async () => {
    guestRuns(2);
    let settle!: (value: string) => void;
    const waited = resuming(new Promise<string>((resolve) => (settle = resolve)), { abandoned: false, instance: 3 });
    expect(computingFor(flags)).toBe(-1);
    settle("ready");
    expect(await waited).toBe("ready");
    expect(computingFor(flags)).toBeGreaterThanOrEqual(0);
    expect(computingInstance(flags)).toBe(3);
    guestWaits();
  });

  it("marks it computing again when the promise rejects, and passes the error on", async () => {
    guestRuns(4);
    const waited = resuming(Promise.reject(new Error("refused")), { abandoned: false, instance: 5 });
    expect(computingFor(flags)).toBe(-1);
    await expect(waited).rejects.toThrow("refused");
    expect(computingFor(flags)).toBeGreaterThanOrEqual(0);
    expect(computingInstance(flags)).toBe(5);
    guestWaits();
  });

  it("never settles for an instance abandoned while it waited, whether the wait succeeds or fails", async () => {
    const state = { abandoned: false, instance: 6 };
    let settle!: (value: string) => void;
    let fail!: (error: Error) => void;
    const outcomes: string[] = [];
    resuming(new Promise<string>((resolve) => (settle = resolve)), state).then(() => outcomes.push("resumed"), () => outcomes.push("failed"));
    resuming(new Promise<string>((_, reject) => (fail = reject)), state).then(() => outcomes.push("resumed"), () => outcomes.push("failed"));
    state.abandoned = true;
    settle("late");
    fail(new Error("late"));
    // Both waits have settled by now; neither may reach its guest.
    for (let turn = 0; turn < 5; turn++) await new Promise((resolve) => setImmediate(resolve));
    expect(outcomes).toEqual([]);
    expect(computingFor(flags)).toBe(-1);
  });
});
