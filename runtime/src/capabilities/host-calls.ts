// The host side of the capability table: one handler per capability and
// operation, called with the instance's function as the host knows it.
import type { HostCallRequest } from "../pool/protocol.js";
import type { Caller, CapabilityServices, HostCallHandler } from "./capability.js";
import { CAPABILITIES } from "./index.js";

/** The host sides of every capability. */
export interface HostCalls {
  /** Answers a guest's call; unknown capabilities and operations are refused (the guest sees the message). */
  handle(request: HostCallRequest, caller: Caller): Promise<unknown>;
  close(): void;
}

export function hostCalls(services: CapabilityServices): HostCalls {
  const handlers = new Map<string, HostCallHandler>();
  const sides = CAPABILITIES.map((capability) => {
    const side = capability.host(services);
    for (const [op, handler] of Object.entries(side.calls)) handlers.set(`${capability.name}/${op}`, handler);
    return side;
  });
  return {
    handle: (request, caller) => {
      const handler = handlers.get(`${request.capability}/${request.op}`);
      if (handler === undefined) return Promise.reject(`the host has no ${request.capability} operation "${request.op}"`);
      return handler(request.args, caller);
    },
    close: () => {
      for (const side of sides) side.close?.();
    },
  };
}
