// Every capability the host offers beyond WASI, in one table. Derived from
// it: the imports the glue makes suspending and the interfaces a component
// may import (artifact/prepare.ts), the data each instance gets
// (pool/pools.ts), every instance's imports (./guest.ts, in the executor)
// and the host-call handlers (./host-calls.ts, on the main thread). To add
// one, see docs/architecture.md.
import type { Capability } from "./capability.js";
import { kvCapability } from "./kv/host.js";
import { queuesCapability } from "./queues/host.js";

export const CAPABILITIES: readonly Capability[] = [queuesCapability, kvCapability];

/** Imports a guest waits in, for jco-transpile's `asyncImports`. */
export const SUSPENDING_IMPORTS: readonly string[] = CAPABILITIES.flatMap((capability) => capability.suspendingImports);

/** WIT interfaces the capabilities implement. */
export const CAPABILITY_INTERFACES: readonly string[] = [...new Set(CAPABILITIES.flatMap((capability) => capability.interfaces))];
