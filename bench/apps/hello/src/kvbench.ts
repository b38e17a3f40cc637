// The key-value benchmark's guest: one invocation runs `count` operations
// of one kind (`set`, `get` or `list`) on the `bench` namespace, one after
// another, and reports how long they took inside the guest.
import { defineFunction } from "@wfn/sdk";

export default defineFunction({
  async invoke(payload: unknown, ctx) {
    const { op, count, size } = payload as { op: "set" | "get" | "list"; count: number; size: number };
    const store = ctx.kv("bench");
    const value = "x".repeat(size);
    const started = Date.now();
    for (let i = 0; i < count; i++) {
      const key = `key/${i % 100}`;
      if (op === "set") await store.set(key, value);
      else if (op === "get") await store.get(key);
      else await store.list({ prefix: "key/", limit: 10 });
    }
    return { op, count, guestMs: Date.now() - started };
  },
});
