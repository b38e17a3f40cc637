// The cheapest possible invocation: measures the host's own per-call cost.
import { defineFunction } from "@wfn/sdk";

export default defineFunction({
  invoke() {
    return 1;
  },
});
