// The capabilities' parts of a function's configuration, in one table:
// function-config.ts resolves and checks them, schema.ts merges their JSON
// Schema into the project schema. Nothing here imports the configuration
// module, so that it can import this.
import { kvConfig } from "./kv/config.js";

/** Each entry: its wfn.json field, JSON Schema, defaults and checks. */
export const CAPABILITY_CONFIG = [kvConfig] as const;

type Entry = (typeof CAPABILITY_CONFIG)[number];

/** The fields the capabilities add to a resolved FunctionConfig. */
export type CapabilityConfig = { [E in Entry as E["field"]]: ReturnType<E["resolve"]> };

/** The same fields as wfn.json may give them (all optional). */
export type CapabilityConfigInput = Partial<CapabilityConfig>;

/** The capabilities' fields of a configuration, defaults filled in. */
export function resolveCapabilityConfig(input: object): CapabilityConfig {
  return Object.fromEntries(CAPABILITY_CONFIG.map((entry) => [entry.field, entry.resolve((input as Record<string, unknown>)[entry.field])])) as CapabilityConfig;
}

/** What is wrong with the capabilities' fields of a resolved configuration. */
export function checkCapabilityConfig(config: CapabilityConfig): Array<{ field: string; message: string }> {
  const problems: Array<{ field: string; message: string }> = [];
  for (const entry of CAPABILITY_CONFIG) {
    const message = entry.check(config[entry.field]);
    if (message !== undefined) problems.push({ field: entry.field, message });
  }
  return problems;
}

/** The capabilities' JSON Schema properties of a function. */
export function capabilitySchema(): Record<string, unknown> {
  return Object.assign({}, ...CAPABILITY_CONFIG.map((entry) => entry.schema));
}
