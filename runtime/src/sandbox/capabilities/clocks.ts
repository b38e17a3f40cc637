// wasi:clocks — monotonic and wall clocks, straight from the host.
import { Pollable } from "./io.js";

const hrtime = process.hrtime.bigint;

export function clockImports() {
  return {
    "wasi:clocks/monotonic-clock": {
      now: hrtime,
      resolution: () => 1n,
      subscribeInstant: (when: bigint) => new Pollable(when),
      subscribeDuration: (duration: bigint) => new Pollable(hrtime() + duration),
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
