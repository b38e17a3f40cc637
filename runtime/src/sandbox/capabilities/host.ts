// wfn:function/host — levelled logging. The interface's `send-message` is
// the queues capability's (capabilities/queues/).
import type { LogLevel } from "@wfn/sdk/abi";
import type { LogCollector } from "./logs.js";

export function hostImports(logs: LogCollector) {
  return {
    "wfn:function/host": {
      log: (level: LogLevel, message: string) => logs.log(level, message),
    },
  };
}
