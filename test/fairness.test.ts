// Time slices (runtime/src/pool/README.md, "Fairness: time slices"): a guest
// that computes gives its executor's thread back every slice, so that the
// other calls on that thread go on. With one executor every call shares one
// thread; without slices, a call of `good` sent while `spin` computes would
// wait for spin's 500 ms timeout. Runs in both data planes (npm test runs the
// end-to-end files again with WFN_ACCEPT_IN=main).
import { describe, expect, it } from "vitest";
import { HOSTILE_BUILD } from "./helpers/paths.js";
import { startHost } from "./helpers/host.js";

describe("one executor's thread, shared", () => {
  it("answers another function's calls while a guest spins on the same thread, before that guest times out", async () => {
    const app = await startHost({ dir: HOSTILE_BUILD, executors: 1 });
    expect((await app.get("/good")).status).toBe(200);
    for (let round = 0; round < 3; round++) {
      let spinAnswered = false;
      const spinning = app.get("/spin").then((response) => {
        spinAnswered = true;
        return response.status;
      });
      await expect.poll(() => app.host.function("spin")!.instances.busy, { interval: 2, timeout: 5000 }).toBe(1);
      for (let i = 0; i < 5; i++) {
        const response = await app.get("/good");
        expect(response.status).toBe(200);
        await response.arrayBuffer();
        expect(spinAnswered).toBe(false);
      }
      expect(await spinning).toBe(504);
    }
  });
});
