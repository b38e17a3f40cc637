// The component imports of the `wfn:function/function` world, as
// componentize-js exposes them to JavaScript inside the guest.

declare module "wasi:cli/environment@0.2.10" {
  export function getEnvironment(): Array<[string, string]>;
  export function getArguments(): string[];
  export function initialCwd(): string | undefined;
}

declare module "wfn:function/host@0.1.0" {
  export type LogLevel = "trace" | "debug" | "info" | "warn" | "error" | "fatal";
  export function log(level: LogLevel, message: string): void;
  /** Returns the new message's id; throws (a string) when the host refuses. */
  export function sendMessage(queue: string, body: string, attributes: Array<[string, string]>): string;
}

declare module "wfn:function/kv@0.1.0" {
  export interface KeyPage {
    keys: string[];
    cursor: string | undefined;
  }
  /** Each throws (a string) when the host refuses: an undeclared namespace, a key or value over its limit. */
  export function get(namespace: string, key: string): Uint8Array | undefined;
  export function set(namespace: string, key: string, value: Uint8Array, ttlSeconds: number | undefined): void;
  export function remove(namespace: string, key: string): boolean;
  export function listKeys(namespace: string, prefix: string, limit: number, cursor: string | undefined): KeyPage;
}
