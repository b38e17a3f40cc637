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
