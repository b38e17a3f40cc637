// Generated from sdk/wit/ by `npm run wit:types` (jco guest-types): do not edit.
/// <reference path="./wfn-function-types.d.ts" />
declare module 'wfn:function/host@0.1.0' {
  /**
   * Writes one log line for the current invocation.
   */
  export function log(level: LogLevel, message: string): void;
  /**
   * Sends a message to one of the app's queues; returns the message id.
   */
  export function sendMessage(queue: string, body: string, attributes: Fields): string;
  export type Fields = import('wfn:function/types@0.1.0').Fields;
  /**
   * # Variants
   * 
   * ## `"trace"`
   * 
   * ## `"debug"`
   * 
   * ## `"info"`
   * 
   * ## `"warn"`
   * 
   * ## `"error"`
   * 
   * ## `"fatal"`
   */
  export type LogLevel = 'trace' | 'debug' | 'info' | 'warn' | 'error' | 'fatal';
}
