// The asynchronous runner (Event invocations, schedules, storage
// notifications) under a burst: every accepted invocation runs, however
// many arrive while its slots are full.
import { describe, expect, it } from "vitest";
import { eventually, startCollector } from "../helpers/collector.js";
import { startHost } from "../helpers/host.js";
import { TRIGGERS_BUILD } from "../helpers/paths.js";

describe("a burst of asynchronous invocations", () => {
  it("runs every one of them, also those accepted while all slots were busy", async () => {
    // Each invocation waits ~300 ms for the collector's answer, so the 16 slots fill up.
    const collector = await startCollector({ delayMs: 300 });
    const app = await startHost({ dir: TRIGGERS_BUILD, asyncPollMs: 200 });
    const ids = Array.from({ length: 40 }, (_, i) => `burst-${i}`);
    for (const id of ids) {
      const response = await app.get("/2015-03-31/functions/job/invocations", {
        method: "POST",
        headers: { "x-amz-invocation-type": "Event" },
        body: JSON.stringify({ id, collector: collector.url }),
      });
      expect(response.status).toBe(202);
    }
    await collector.until((reports) => ids.every((id) => reports.some((r) => r.id === id)), 45_000);
    // Nothing is left behind in the store.
    const pending = await eventually(async () => {
      const { pending } = (await (await app.get("/_wfn/async")).json()) as { pending: number };
      return pending === 0 ? pending : undefined;
    }, 10_000, "no pending invocations");
    expect(pending).toBe(0);
  });
});
