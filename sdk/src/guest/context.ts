// Builds the author-facing Context from the world's context record.
import type { ContextRecord } from "../abi.js";
import type { Context } from "../types.js";
import { kv } from "./kv.js";
import { sendMessage } from "./queue.js";

/** Creates the `ctx` passed to a handler for one invocation. */
export function createContext(record: ContextRecord, env: Readonly<Record<string, string>>): Context {
  const deadline = Number(record.deadlineMs);
  let clientContext: unknown;
  let parsed = false;
  return {
    requestId: record.requestId,
    functionName: record.functionName,
    functionVersion: record.functionVersion,
    invokedFunctionArn: record.invokedFunctionArn,
    memoryLimitMB: record.memoryLimitMb,
    deadline,
    remainingTimeMs: () => Math.max(0, deadline - Date.now()),
    env,
    get clientContext() {
      if (!parsed) {
        parsed = true;
        clientContext = record.clientContext === undefined ? undefined : JSON.parse(record.clientContext);
      }
      return clientContext;
    },
    sendMessage,
    kv,
  };
}
