// A runaway: computes until it is stopped at its timeout.
import { defineFunction } from "@wfn/sdk";

export default defineFunction({
  fetch() {
    for (;;) {
      // spin
    }
  },
});
