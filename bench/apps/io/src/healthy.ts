// A healthy function sharing the host with misbehaving ones: its latency is
// what the fault-isolation and fairness figures watch.
import { defineFunction } from "@wfn/sdk";

export default defineFunction({
  fetch: () => Response.json({ healthy: true }),
});
