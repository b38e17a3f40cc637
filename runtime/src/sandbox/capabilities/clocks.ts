// wasi:clocks — monotonic and wall clocks, straight from the host. Its
// pollables belong to the instance that asked for them.
import type { WaitState } from "../call-state.js";
import { Pollable } from "./io.js";

const hrtime = process.hrtime.bigint;

export function clockImports(state: WaitState) {
  return {
    "wasi:clocks/monotonic-clock": {
      now: hrtime,
      resolution: () => 1n,
      subscribeInstant: (when: bigint) => Pollable.at(when, state),
      subscribeDuration: (duration: bigint) => Pollable.at(hrtime() + duration, state),
    },
    "wasi:clocks/wall-clock": {
      now: () => {
        const ms = Date.now();
        return { seconds: BigInt(Math.floor(ms / 1000)), nanoseconds: (ms % 1000) * 1_000_000 };
      },
      resolution: () => ({ seconds: 0n, nanoseconds: 1_000_000 }),
    },
  };
}
