// The queue benchmark's consumer: takes every batch and does nothing with it,
// so that what is measured is the queue's path (store, poller, guest call).
import { defineFunction } from "@wfn/sdk";

export default defineFunction({
  async queue(batch) {
    void batch.messages.length;
  },
});
