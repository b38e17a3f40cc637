// Sending queue messages, executor side: `send-message` of
// `wfn:function/host`, which suspends the guest until the host has stored
// the message (./host.ts).
import type { GuestImports } from "../capability.js";
import { resuming } from "../../sandbox/interrupt.js";

export const imports: GuestImports<unknown> = (_settings, call, state) => ({
  "wfn:function/host": {
    sendMessage: (queue: string, body: string, attributes: Array<[string, string]>) => resuming(call("send", [queue, body, attributes]), state),
  },
});
