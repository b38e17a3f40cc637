// Sending queue messages from inside a function: a synchronous host call
// (the host stores the message before it answers), offered as a promise so
// callers write the same code whichever way the host implements it.
import { sendMessage as hostSendMessage } from "wfn:function/host@0.1.0";

/** Sends `body` to the app's queue `queue`; resolves with the message id once the host has stored it. */
export function sendMessage(queue: string, body: string, attributes: Readonly<Record<string, string>> = {}): Promise<string> {
  try {
    if (typeof queue !== "string" || typeof body !== "string") throw "the queue name and the body must be strings";
    const pairs = Object.entries(attributes).map(([key, value]): [string, string] => [key, String(value)]);
    return Promise.resolve(hostSendMessage(queue, body, pairs));
  } catch (reason) {
    return Promise.reject(new Error(`sendMessage to "${queue}" failed: ${typeof reason === "string" ? reason : (reason as Error)?.message ?? String(reason)}`));
  }
}
