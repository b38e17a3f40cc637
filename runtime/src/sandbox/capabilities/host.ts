// wfn:function/host — what the host offers beyond WASI: levelled logging
// and (once queues exist) sending messages.
import type { LogLevel } from "@wfn/sdk/abi";
import type { LogCollector } from "./logs.js";

/** Sends a message to a queue on behalf of a guest; returns the message id or throws a string. */
export type SendMessage = (queue: string, body: string, attributes: Array<[string, string]>) => string;

const noQueues: SendMessage = (queue) => {
  throw `cannot send to queue "${queue}": this host has no queues`;
};

export function hostImports(logs: LogCollector, sendMessage: SendMessage = noQueues) {
  return {
    "wfn:function/host": {
      log: (level: LogLevel, message: string) => logs.log(level, message),
      sendMessage,
    },
  };
}
