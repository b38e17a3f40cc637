// Stopping a runaway without collateral: one executor holds many
// invocations at once, so a guest computing past its timeout must be
// stopped without stopping its thread — the invocations suspended beside it
// on the same executor finish normally.
import { describe, expect, it } from "vitest";
import { startHost } from "../helpers/host.js";
import { HOSTILE_BUILD } from "../helpers/paths.js";

describe("a guest spinning past its timeout on an executor shared with waiting invocations", () => {
  it("is stopped alone: the others finish, and the executor is not replaced", async () => {
    // One executor: everything below runs on the same thread.
    const app = await startHost({ dir: HOSTILE_BUILD, executors: 1 });
    // Two invocations waiting (suspended) for 0.7 s (the runaway is stopped at 0.5 s), started before the runaway.
    const waiting = [app.get("/sleepy?ms=700"), app.get("/sleepy?ms=700")];
    // Both running (their instances created, their guests waiting on a timer) before the runaway starts.
    await expect.poll(() => app.host.function("sleepy")!.instances.busy, { interval: 5, timeout: 5000 }).toBe(2);
    const runaway = await app.get("/spin");
    expect(runaway.status).toBe(504);
    const answers = await Promise.all(waiting);
    expect(answers.map((r) => r.status)).toEqual([200, 200]);
    expect(await Promise.all(answers.map((r) => r.json()))).toEqual([{ slept: 700 }, { slept: 700 }]);
    // The thread went on: nothing was lost or re-warmed.
    expect(app.logs.some((r) => /executor \d+ stopped/.test(r.message))).toBe(false);
    expect((await app.get("/good")).status).toBe(200);
  });
});

describe("a guest spinning on an executor that other functions share", () => {
  it("gives the thread back: a healthy function on the same executor answers while it spins", async () => {
    const app = await startHost({ dir: HOSTILE_BUILD, executors: 1 });
    let stopped = false;
    const runaway = app.get("/spin").then((response) => {
      stopped = true;
      return response.status;
    });
    await expect.poll(() => app.host.function("spin")!.instances.busy, { interval: 5, timeout: 5000 }).toBe(1);
    // Each of these runs on the one executor while the runaway computes (it is stopped only at 500 ms).
    const answers: number[] = [];
    for (let i = 0; i < 5; i++) answers.push((await app.get("/good")).status);
    expect(stopped).toBe(false);
    expect(answers).toEqual([200, 200, 200, 200, 200]);
    expect(await runaway).toBe(504);
  });
});
