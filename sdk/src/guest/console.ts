// Routes the guest's console to the host's `log` import, with levels, so
// that log lines keep their level and the invocation's request id.
import type { LogLevel } from "../abi.js";

type Sink = (level: LogLevel, message: string) => void;

const METHODS: Array<[keyof Console, LogLevel]> = [
  ["log", "info"],
  ["info", "info"],
  ["warn", "warn"],
  ["error", "error"],
  ["debug", "debug"],
  ["trace", "trace"],
];

/** Replaces the console methods with ones that write through `sink`. */
export function routeConsole(sink: Sink): void {
  const target = globalThis.console as unknown as Record<string, unknown>;
  for (const [method, level] of METHODS) {
    target[method] = (...args: unknown[]) => sink(level, format(args));
  }
}

/** Formats console arguments the way Node's `util.format` does for the common cases. */
export function format(args: readonly unknown[]): string {
  if (args.length === 0) return "";
  const [first, ...rest] = args;
  let out: string;
  if (typeof first === "string" && first.includes("%")) {
    out = first.replace(/%[sdifjoOc%]/g, (spec) => {
      if (spec === "%%") return "%";
      if (rest.length === 0) return spec;
      const value = rest.shift();
      switch (spec) {
        case "%s":
          return typeof value === "string" ? value : inspect(value);
        case "%d":
        case "%i":
          return typeof value === "bigint" ? `${value}n` : String(spec === "%i" ? Math.trunc(Number(value)) : Number(value));
        case "%f":
          return String(Number(value));
        case "%j":
          return safeStringify(value);
        case "%c":
          return "";
        default:
          return inspect(value);
      }
    });
  } else {
    out = typeof first === "string" ? first : inspect(first);
  }
  for (const value of rest) out += " " + (typeof value === "string" ? value : inspect(value));
  return out;
}

/** A compact, cycle-safe rendering of any value. */
export function inspect(value: unknown, depth = 0, seen: Set<object> = new Set()): string {
  switch (typeof value) {
    case "string":
      return depth === 0 ? value : JSON.stringify(value);
    case "bigint":
      return `${value}n`;
    case "undefined":
      return "undefined";
    case "function":
      return `[Function: ${value.name || "(anonymous)"}]`;
    case "symbol":
      return value.toString();
    case "object":
      break;
    default:
      return String(value);
  }
  if (value === null) return "null";
  if (value instanceof Error) {
    // SpiderMonkey's and QuickJS's stacks are the frames alone, without V8's "Name: message" line.
    const head = `${value.name}: ${value.message}`;
    const stack = typeof value.stack === "string" ? value.stack.trimEnd() : "";
    return stack.length === 0 ? head : stack.startsWith(head) ? stack : `${head}\n${stack}`;
  }
  if (value instanceof Date) return value.toISOString();
  if (seen.has(value)) return "[Circular]";
  if (depth > 4) return Array.isArray(value) ? "[Array]" : "[Object]";
  seen.add(value);
  try {
    if (Array.isArray(value)) {
      return `[ ${value.map((item) => inspect(item, depth + 1, seen)).join(", ")} ]`;
    }
    if (ArrayBuffer.isView(value)) {
      return `${value.constructor.name}(${value.byteLength})`;
    }
    if (value instanceof Map) {
      const entries = [...value].map(([k, v]) => `${inspect(k, depth + 1, seen)} => ${inspect(v, depth + 1, seen)}`);
      return `Map(${value.size}) { ${entries.join(", ")} }`;
    }
    if (value instanceof Set) {
      return `Set(${value.size}) { ${[...value].map((v) => inspect(v, depth + 1, seen)).join(", ")} }`;
    }
    const entries = Object.entries(value).map(([k, v]) => `${/^[A-Za-z_$][\w$]*$/.test(k) ? k : JSON.stringify(k)}: ${inspect(v, depth + 1, seen)}`);
    return entries.length === 0 ? "{}" : `{ ${entries.join(", ")} }`;
  } finally {
    seen.delete(value);
  }
}

function safeStringify(value: unknown): string {
  try {
    return JSON.stringify(value, (_key, v: unknown) => (typeof v === "bigint" ? v.toString() : v)) ?? "undefined";
  } catch {
    return "[Circular]";
  }
}
