// Generated from sdk/wit/ by `npm run wit:types` (jco guest-types): do not edit.
declare module 'wasi:cli/environment@0.2.10' {
  export function getEnvironment(): Array<[string, string]>;
  export function getArguments(): Array<string>;
  export function initialCwd(): string | undefined;
}
