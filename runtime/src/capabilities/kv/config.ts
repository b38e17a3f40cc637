// The key-value capability's part of a function's configuration: `kv`, the
// namespaces it may use (none by default).

/** The host's key-value limits (HostOptions.kv), each enforced while reading the call. */
export interface KvLimits {
  /** Longest key, in UTF-8 bytes. Default 512. */
  maxKeyBytes: number;
  /** Largest value, in bytes. Default 1 MiB. */
  maxValueBytes: number;
  /** Most keys one list call returns. Default 1,000. */
  maxListKeys: number;
  /** Most live entries in one namespace. Default 100,000. */
  maxEntriesPerNamespace: number;
}

export const KV_DEFAULTS: KvLimits = Object.freeze({ maxKeyBytes: 512, maxValueBytes: 1024 * 1024, maxListKeys: 1000, maxEntriesPerNamespace: 100_000 });

/** Namespace names: letters, digits, "-", "_" and ".", 1 to 64. */
export const KV_NAMESPACE_PATTERN = /^[A-Za-z0-9._-]{1,64}$/;

/** Most namespaces one function may declare. */
export const MAX_KV_NAMESPACES = 16;

/** `kv` in wfn.json, as JSON Schema (merged into the project schema's function properties). */
export const KV_CONFIG_SCHEMA = {
  kv: {
    description: "Key-value namespaces the function may use (ctx.kv(name)); none by default. A namespace is shared by every function that declares it.",
    type: "array",
    maxItems: MAX_KV_NAMESPACES,
    uniqueItems: true,
    items: { type: "string", pattern: KV_NAMESPACE_PATTERN.source },
    default: [],
  },
} as const;

export const kvConfig = {
  field: "kv" as const,
  schema: KV_CONFIG_SCHEMA,
  /** The namespaces, defaults filled in. */
  resolve(input: unknown): string[] {
    return Array.isArray(input) ? input.map(String) : [];
  },
  /** What is wrong with a resolved value (the schema's rules, for configurations that did not pass through it). */
  check(value: readonly string[] | undefined): string | undefined {
    // Versions deployed before the capability existed have no `kv`: none declared.
    if (value === undefined) return undefined;
    if (value.length > MAX_KV_NAMESPACES) return `at most ${MAX_KV_NAMESPACES} namespaces`;
    const bad = value.find((name) => !KV_NAMESPACE_PATTERN.test(name));
    if (bad !== undefined) return `"${bad}" is not a valid namespace name (letters, digits, ".", "-" and "_", at most 64)`;
    if (new Set(value).size !== value.length) return "a namespace is listed twice";
    return undefined;
  },
};
