// CPU-bound work in the guest (about 20 ms per call on the bench machine):
// what per-loop costs (such as interrupt checks) add to a busy interpreter.
import { defineFunction } from "@wfn/sdk";

export default defineFunction({
  invoke(payload) {
    const n = typeof (payload as { n?: unknown } | null)?.n === "number" ? (payload as { n: number }).n : 100_000;
    let hash = 0;
    const seen = new Map<number, string>();
    for (let i = 0; i < n; i++) {
      hash = (Math.imul(hash, 31) + i) | 0;
      if ((i & 1023) === 0) seen.set(i, hash.toString(36));
    }
    return { hash, seen: seen.size };
  },
});
