// wfn:function/host — what the host offers beyond WASI: levelled logging
// and sending queue messages (the instance suspends until the host has
// stored the message).
import type { LogLevel } from "@wfn/sdk/abi";
import type { LogCollector } from "./logs.js";
import { resuming } from "../interrupt.js";
import type { WaitState } from "../call-state.js";

/** Sends a message to a queue on behalf of a guest; resolves with the message id, or rejects with a string (the guest's error). */
export type SendMessage = (queue: string, body: string, attributes: Array<[string, string]>) => Promise<string>;

const noQueues: SendMessage = (queue) => Promise.reject(`cannot send to queue "${queue}": this host has no queues`);

export function hostImports(logs: LogCollector, state: WaitState, sendMessage: SendMessage = noQueues) {
  return {
    "wfn:function/host": {
      log: (level: LogLevel, message: string) => logs.log(level, message),
      sendMessage: (queue: string, body: string, attributes: Array<[string, string]>) => resuming(sendMessage(queue, body, attributes), state),
    },
  };
}
