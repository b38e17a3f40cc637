// A function's configuration: the one place that knows the fields, their
// defaults and their limits. `wfn.json` (cli) and manifests (runtime) both
// resolve through here.
import { WfnError } from "../errors.js";
import { parseOutboundRule } from "../outbound/policy.js";

/** Configuration of one function, with every default filled in. */
export interface FunctionConfig {
  /** Source entry, relative to the project (build input; informational at run time). */
  entry: string;
  /** HTTP routes: `"GET /hello"`, `"/api/*"`, `"POST /items/:id"`. */
  routes: string[];
  /** Environment variables the function sees, and the only ones. */
  env: Record<string, string>;
  /** Linear-memory limit of one instance, in MiB. */
  memoryMB: number;
  /** Time limit of one invocation, in milliseconds. */
  timeoutMs: number;
  /** Instances kept warm at all times (provisioned concurrency). */
  minInstances: number;
  /** Invocations that may run at once (reserved concurrency). */
  maxConcurrency: number;
  /** `instance`: instances are reused across invocations; `request`: every invocation gets a fresh instance. */
  isolation: "instance" | "request";
  /** Where outbound `fetch` may go: `scheme://host[:port]` entries, wildcards allowed. Empty: nowhere. */
  allowedOutboundHosts: string[];
  /**
   * How the entry is written: `web` (`export default defineFunction({...})`)
   * or `lambda` (`export const handler = async (event, context) => ...`).
   * `auto` (configuration only) lets `wfn build` detect it; a built
   * function's manifest always says which.
   */
  style: "auto" | "web" | "lambda";
}

/** What a user may write: everything but `entry` is optional. */
export type FunctionConfigInput = Partial<FunctionConfig> & { entry: string };

export const FUNCTION_DEFAULTS = Object.freeze({
  routes: [] as string[],
  env: {} as Record<string, string>,
  memoryMB: 128,
  timeoutMs: 3000,
  minInstances: 0,
  maxConcurrency: 10,
  isolation: "instance" as "instance" | "request",
  allowedOutboundHosts: [] as string[],
  style: "auto" as "auto" | "web" | "lambda",
});

export const LIMITS = Object.freeze({
  memoryMB: { min: 16, max: 4096 },
  timeoutMs: { min: 1, max: 900_000 },
  minInstances: { min: 0, max: 1000 },
  maxConcurrency: { min: 1, max: 10_000 },
});

/** Function names: what AWS Lambda accepts for a bare name. */
export const FUNCTION_NAME_PATTERN = /^[A-Za-z0-9_-]{1,64}$/;

/** Path prefixes the host keeps for itself; no function route may start with them. */
export const RESERVED_PREFIXES = ["/_wfn", "/2015-03-31"] as const;

export const HTTP_METHODS = ["GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"] as const;
export type HttpMethod = (typeof HTTP_METHODS)[number];

/** A parsed route: a method (or any) and a Hono path pattern. */
export interface Route {
  method: HttpMethod | "ALL";
  path: string;
  /** The route as written in the configuration. */
  source: string;
}

/**
 * Parses `"GET /hello"` or `"/api/*"`.
 *
 * @returns the route, or a sentence saying what is wrong with it.
 */
export function parseRoute(source: string): Route | string {
  const parts = source.trim().split(/\s+/);
  let method: Route["method"] = "ALL";
  let path: string;
  if (parts.length === 2) {
    const upper = parts[0]!.toUpperCase();
    if (!(HTTP_METHODS as readonly string[]).includes(upper)) {
      return `unknown method "${parts[0]}" (use one of ${HTTP_METHODS.join(", ")}, or no method for all)`;
    }
    method = upper as HttpMethod;
    path = parts[1]!;
  } else if (parts.length === 1 && parts[0] !== "") {
    path = parts[0]!;
  } else {
    return 'a route is "METHOD /path" or "/path"';
  }
  if (!path.startsWith("/")) return `the path "${path}" must start with "/"`;
  for (const prefix of RESERVED_PREFIXES) {
    if (path === prefix || path.startsWith(prefix + "/")) {
      return `the path "${path}" is reserved for the host (${prefix}/...)`;
    }
  }
  return { method, path, source };
}

/** Problems found in one function's configuration: `field` is a dotted path under the function. */
export interface ConfigProblem {
  field: string;
  message: string;
}

/** Checks what JSON Schema cannot: route syntax and cross-field rules. */
export function checkFunctionConfig(config: FunctionConfig): ConfigProblem[] {
  const problems: ConfigProblem[] = [];
  config.routes.forEach((route, index) => {
    const parsed = parseRoute(route);
    if (typeof parsed === "string") problems.push({ field: `routes[${index}]`, message: parsed });
  });
  if (config.minInstances > config.maxConcurrency) {
    problems.push({
      field: "minInstances",
      message: `minInstances (${config.minInstances}) cannot exceed maxConcurrency (${config.maxConcurrency})`,
    });
  }
  config.allowedOutboundHosts.forEach((entry, index) => {
    const parsed = parseOutboundRule(entry);
    if (typeof parsed === "string") problems.push({ field: `allowedOutboundHosts[${index}]`, message: parsed });
  });
  for (const [key, limits] of Object.entries(LIMITS) as Array<[keyof typeof LIMITS, { min: number; max: number }]>) {
    const value = config[key];
    if (!Number.isInteger(value) || value < limits.min || value > limits.max) {
      problems.push({ field: key, message: `must be an integer from ${limits.min} to ${limits.max}` });
    }
  }
  return problems;
}

/** Fills in defaults. Assumes the input passed schema validation. */
export function resolveFunctionConfig(input: FunctionConfigInput): FunctionConfig {
  return {
    entry: input.entry,
    routes: [...(input.routes ?? FUNCTION_DEFAULTS.routes)],
    env: { ...(input.env ?? FUNCTION_DEFAULTS.env) },
    memoryMB: input.memoryMB ?? FUNCTION_DEFAULTS.memoryMB,
    timeoutMs: input.timeoutMs ?? FUNCTION_DEFAULTS.timeoutMs,
    minInstances: input.minInstances ?? FUNCTION_DEFAULTS.minInstances,
    maxConcurrency: input.maxConcurrency ?? FUNCTION_DEFAULTS.maxConcurrency,
    isolation: input.isolation ?? FUNCTION_DEFAULTS.isolation,
    allowedOutboundHosts: [...(input.allowedOutboundHosts ?? FUNCTION_DEFAULTS.allowedOutboundHosts)],
    style: input.style ?? FUNCTION_DEFAULTS.style,
  };
}

/** Throws WFN_INVALID_CONFIG naming the first problem, for callers that have no file to point at. */
export function assertFunctionConfig(name: string, config: FunctionConfig): void {
  const problems = checkFunctionConfig(config);
  if (problems.length > 0) {
    const list = problems.map((p) => `${name}.${p.field}: ${p.message}`).join("; ");
    throw new WfnError("WFN_INVALID_CONFIG", `invalid configuration for function "${name}": ${list}`, { details: { problems } });
  }
}
