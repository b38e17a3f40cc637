// Sending queue messages (ctx.sendMessage), host side: the message is
// stored before the guest's call returns. The queue must be declared (under
// `queues` in wfn.json); the queue's own limits apply.
import type { Capability } from "../capability.js";
import { imports } from "./guest.js";

export const queuesCapability: Capability = {
  name: "queues",
  interfaces: ["wfn:function/host"],
  suspendingImports: ["wfn:function/host#send-message"],
  guest: imports,
  unconfigured: {},
  configure: () => ({}),
  host: ({ queues }) => ({
    calls: {
      send: async ([queue, body, attributes]) => {
        if (typeof queue !== "string" || typeof body !== "string" || !Array.isArray(attributes)) throw "the queue name and the body must be strings";
        const [id] = await queues.send(queue, [{ body, attributes: Object.fromEntries(attributes as Array<[string, string]>) }]);
        return id!;
      },
    },
  }),
};
