// A function's configuration: the one place that knows the fields, their
// defaults and their limits. `wfn.json` (cli) and manifests (runtime) both
// resolve through here.
import { schemaFacts } from "./schema.js";
import { checkCapabilityConfig, resolveCapabilityConfig, type CapabilityConfig } from "../capabilities/config.js";
import { WfnError } from "../errors.js";
import { parseOutboundRule } from "../outbound/policy.js";
import { parseSchedule } from "../triggers/schedule-expression.js";

/** Configuration of one function, with every default filled in. */
/** A function's configuration; the capabilities add their own fields (capabilities/config.ts: `kv`). */
export interface FunctionConfig extends CapabilityConfig {
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
  /**
   * What runs a JavaScript or TypeScript function inside its component:
   * StarlingMonkey (absent: the default) or QuickJS (docs/engines.md).
   */
  engine?: "starlingmonkey" | "quickjs";
  /** Consumes a queue, in batches. */
  queue?: QueueTriggerConfig;
  /** Runs on a schedule. */
  schedule?: ScheduleConfig;
  /** Receives object-storage change notifications. */
  storage?: StorageTriggerConfig;
  /** How asynchronous invocations (Event, schedules, storage notifications) are retried. */
  async: AsyncConfig;
  /** `none`: anyone who reaches the host may invoke it; `key`: its routes and the Invoke API need an invoke or admin key. */
  auth: "none" | "key";
}

export interface QueueTriggerConfig {
  /** The queue, declared under `queues` in wfn.json. */
  name: string;
  /** Most messages per invocation. */
  batchSize: number;
  /** How long to wait for a batch to fill, in ms. */
  maxBatchingWindowMs: number;
}

export interface ScheduleConfig {
  /** `rate(5 minutes)`, `cron(0 12 * * ? *)`, `*\/5 * * * *`, or 6-field cron with seconds. */
  expression: string;
  /** IANA time zone the cron fields are read in (default UTC). */
  timezone?: string;
  /** After the host was down, run the last missed firing once (default false). */
  catchUp: boolean;
  /** Start a firing even if the previous one still runs (default false: skip it). */
  allowOverlap: boolean;
}

export interface StorageTriggerConfig {
  /** Event names to accept: `ObjectCreated:*`, `ObjectRemoved:Delete`... (default all). */
  events: string[];
  prefix?: string;
  suffix?: string;
  /** Shared secret the storage server sends as `Authorization: Bearer <secret>`. */
  secret: string;
}

export interface AsyncConfig {
  /** Retries after a failed attempt (0–2, as on AWS Lambda). */
  maximumRetryAttempts: number;
  /** An event older than this is not tried again, in seconds. */
  maximumEventAgeSeconds: number;
  /** Where a finally failed event's record goes: a queue; by default the dead-letter store. */
  onFailure?: { queue: string };
}

/** What a user may write: everything but `entry` is optional, and some fields have a short form. */
export type FunctionConfigInput = Partial<Omit<FunctionConfig, "queue" | "schedule" | "storage" | "async" | "auth">> & {
  auth?: FunctionConfig["auth"];
  entry: string;
  queue?: string | (Partial<QueueTriggerConfig> & { name: string });
  schedule?: string | (Partial<ScheduleConfig> & { expression: string });
  storage?: Partial<StorageTriggerConfig> & { secret: string };
  async?: Partial<AsyncConfig>;
};

/** A queue declared in wfn.json. */
export interface QueueConfig {
  /** How long a received message stays invisible before it is delivered again, in seconds. */
  visibilityTimeoutSeconds: number;
  /** Deliveries before a message moves to the dead-letter queue. */
  maxReceiveCount: number;
  /** Where messages go after `maxReceiveCount` deliveries (default `<name>-dlq`). */
  deadLetterQueue: string;
  /** How long an unconsumed message is kept, in seconds. */
  retentionSeconds: number;
}

export type QueueConfigInput = Partial<QueueConfig>;

const FUNCTION_SCHEMA = schemaFacts("function");
const QUEUE_SCHEMA = schemaFacts("queue");

/** Defaults of a queue, as wfn.schema.json states them. */
export const QUEUE_DEFAULTS = Object.freeze({
  visibilityTimeoutSeconds: QUEUE_SCHEMA.default<number>("visibilityTimeoutSeconds"),
  maxReceiveCount: QUEUE_SCHEMA.default<number>("maxReceiveCount"),
  retentionSeconds: QUEUE_SCHEMA.default<number>("retentionSeconds"),
});

/** Fills in a queue's defaults. */
export function resolveQueueConfig(name: string, input: QueueConfigInput = {}): QueueConfig {
  return {
    visibilityTimeoutSeconds: input.visibilityTimeoutSeconds ?? QUEUE_DEFAULTS.visibilityTimeoutSeconds,
    maxReceiveCount: input.maxReceiveCount ?? QUEUE_DEFAULTS.maxReceiveCount,
    deadLetterQueue: input.deadLetterQueue ?? `${name}-dlq`,
    retentionSeconds: input.retentionSeconds ?? QUEUE_DEFAULTS.retentionSeconds,
  };
}

/** Defaults of a function's configuration, as wfn.schema.json states them. */
export const FUNCTION_DEFAULTS = Object.freeze({
  routes: [] as string[],
  env: {} as Record<string, string>,
  memoryMB: FUNCTION_SCHEMA.default<number>("memoryMB"),
  timeoutMs: FUNCTION_SCHEMA.default<number>("timeoutMs"),
  minInstances: FUNCTION_SCHEMA.default<number>("minInstances"),
  maxConcurrency: FUNCTION_SCHEMA.default<number>("maxConcurrency"),
  isolation: FUNCTION_SCHEMA.default<"instance" | "request">("isolation"),
  allowedOutboundHosts: FUNCTION_SCHEMA.default<string[]>("allowedOutboundHosts"),
  style: FUNCTION_SCHEMA.default<"auto" | "web" | "lambda">("style"),
  auth: FUNCTION_SCHEMA.default<"none" | "key">("auth"),
  maximumRetryAttempts: FUNCTION_SCHEMA.default<number>("async.maximumRetryAttempts"),
  maximumEventAgeSeconds: FUNCTION_SCHEMA.default<number>("async.maximumEventAgeSeconds"),
});

/** Bounds of a function's numeric settings, as wfn.schema.json states them (checked again for configurations that did not pass through it). */
export const LIMITS = Object.freeze({
  memoryMB: FUNCTION_SCHEMA.limits("memoryMB"),
  timeoutMs: FUNCTION_SCHEMA.limits("timeoutMs"),
  minInstances: FUNCTION_SCHEMA.limits("minInstances"),
  maxConcurrency: FUNCTION_SCHEMA.limits("maxConcurrency"),
});

export { FUNCTION_NAME_PATTERN } from "./names.js";

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
  if (config.schedule !== undefined) {
    const parsed = parseSchedule(config.schedule.expression, config.schedule.timezone);
    if (typeof parsed === "string") problems.push({ field: "schedule", message: parsed });
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
  problems.push(...checkCapabilityConfig(config));
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
    ...(input.engine === undefined || input.engine === "starlingmonkey" ? {} : { engine: input.engine }),
    ...(input.queue === undefined ? {} : { queue: resolveQueueTrigger(input.queue) }),
    ...(input.schedule === undefined ? {} : { schedule: resolveSchedule(input.schedule) }),
    ...(input.storage === undefined ? {} : { storage: { ...input.storage, events: input.storage.events ?? ["*"] } }),
    async: {
      maximumRetryAttempts: input.async?.maximumRetryAttempts ?? FUNCTION_DEFAULTS.maximumRetryAttempts,
      maximumEventAgeSeconds: input.async?.maximumEventAgeSeconds ?? FUNCTION_DEFAULTS.maximumEventAgeSeconds,
      ...(input.async?.onFailure === undefined ? {} : { onFailure: input.async.onFailure }),
    },
    auth: input.auth ?? FUNCTION_DEFAULTS.auth,
    ...resolveCapabilityConfig(input),
  };
}

function resolveQueueTrigger(input: NonNullable<FunctionConfigInput["queue"]>): QueueTriggerConfig {
  const trigger = typeof input === "string" ? { name: input } : input;
  return { name: trigger.name, batchSize: trigger.batchSize ?? 10, maxBatchingWindowMs: trigger.maxBatchingWindowMs ?? 0 };
}

function resolveSchedule(input: NonNullable<FunctionConfigInput["schedule"]>): ScheduleConfig {
  const schedule = typeof input === "string" ? { expression: input } : input;
  return {
    expression: schedule.expression,
    ...(schedule.timezone === undefined ? {} : { timezone: schedule.timezone }),
    catchUp: schedule.catchUp ?? false,
    allowOverlap: schedule.allowOverlap ?? false,
  };
}

/** Queue names, as in wfn.json's schema (SQS's rule for a standard queue). */
export const QUEUE_NAME_PATTERN = /^[A-Za-z0-9_-]{1,80}$/;
/** Dead-letter queue names: the same characters, and room for the `-dlq` a default one adds to an 80-character name. */
const DEAD_LETTER_QUEUE_PATTERN = /^[A-Za-z0-9_-]{1,84}$/;

/** Queues one host keeps, dead-letter queues included, unless its `maxQueues` says otherwise. */
export const DEFAULT_MAX_QUEUES = 1000;

/**
 * Problems with a host's queues, wherever they were declared (wfn.json, an
 * uploaded or built app.json, host options): names, how many there are,
 * and dead-letter queues that lead back to where they started.
 */
export function checkQueues(queues: Readonly<Record<string, QueueConfig>>, maxQueues = DEFAULT_MAX_QUEUES): ConfigProblem[] {
  const names = new Set([...Object.keys(queues), ...Object.values(queues).map((queue) => queue.deadLetterQueue)]);
  // Checked first and alone: a count far over the limit would otherwise be described queue by queue.
  if (names.size > maxQueues) {
    return [{ field: "queues", message: `${names.size} queues (dead-letter queues included) are more than this host's limit of ${maxQueues}` }];
  }
  const problems: ConfigProblem[] = [];
  for (const [name, queue] of Object.entries(queues)) {
    if (!QUEUE_NAME_PATTERN.test(name)) problems.push({ field: "queues", message: `${JSON.stringify(name)} is not a valid queue name (letters, digits, "-" and "_", at most 80)` });
    if (!DEAD_LETTER_QUEUE_PATTERN.test(queue.deadLetterQueue)) {
      problems.push({ field: `queues.${name}.deadLetterQueue`, message: `${JSON.stringify(queue.deadLetterQueue)} is not a valid queue name (letters, digits, "-" and "_")` });
    }
    if (queue.deadLetterQueue === name) problems.push({ field: `queues.${name}.deadLetterQueue`, message: "a queue cannot be its own dead-letter queue" });
  }
  problems.push(...deadLetterCycles(queues));
  return problems;
}

/** Chains of dead-letter queues that come back to a queue on them (a → b → a): a failing message would never leave. */
function deadLetterCycles(queues: Readonly<Record<string, QueueConfig>>): ConfigProblem[] {
  const problems: ConfigProblem[] = [];
  /** Queues already known to be on a cycle or to lead out of the declared queues. */
  const settled = new Set<string>();
  for (const start of Object.keys(queues)) {
    const path: string[] = [];
    let at: string | undefined = start;
    while (at !== undefined && !settled.has(at) && !path.includes(at)) {
      path.push(at);
      at = Object.hasOwn(queues, at) ? queues[at]!.deadLetterQueue : undefined;
    }
    if (at !== undefined && path.includes(at)) {
      const cycle = path.slice(path.indexOf(at));
      // A queue that is its own dead-letter queue is reported on its own above.
      if (cycle.length > 1) {
        problems.push({
          field: `queues.${cycle[0]}.deadLetterQueue`,
          message: `dead-letter queues form a cycle (${[...cycle, cycle[0]].join(" → ")}): a message that keeps failing would move between them for ever; end the chain at a queue whose dead-letter queue is not one of these`,
        });
      }
    }
    for (const name of path) settled.add(name);
  }
  return problems;
}

/**
 * Problems across an app's functions and queues: the queues themselves
 * (see {@link checkQueues}), references to queues that are not declared.
 */
export function checkAppConfig(functions: ReadonlyMap<string, FunctionConfig>, queues: Readonly<Record<string, QueueConfig>>, maxQueues = DEFAULT_MAX_QUEUES): Array<ConfigProblem & { function?: string }> {
  const declared = new Set([...Object.keys(queues), ...Object.values(queues).map((queue) => queue.deadLetterQueue)]);
  const problems: Array<ConfigProblem & { function?: string }> = checkQueues(queues, maxQueues);
  for (const [name, config] of functions) {
    if (config.queue !== undefined && !declared.has(config.queue.name)) {
      problems.push({ function: name, field: "queue.name", message: `queue "${config.queue.name}" is not declared under "queues"` });
    }
    const consumed = config.queue === undefined ? undefined : queues[config.queue.name];
    if (consumed !== undefined && consumed.visibilityTimeoutSeconds * 1000 < config.timeoutMs) {
      problems.push({
        function: name,
        field: "queue.name",
        message: `queue "${config.queue!.name}" has a visibility timeout of ${consumed.visibilityTimeoutSeconds} s, less than this function's timeout (${config.timeoutMs} ms): messages would be delivered again while still being processed`,
      });
    }
    const failureQueue = config.async.onFailure?.queue;
    if (failureQueue !== undefined && !declared.has(failureQueue)) {
      problems.push({ function: name, field: "async.onFailure.queue", message: `queue "${failureQueue}" is not declared under "queues"` });
    }
  }
  return problems;
}

/** Throws WFN_INVALID_CONFIG naming the first problem, for callers that have no file to point at. */
export function assertFunctionConfig(name: string, config: FunctionConfig): void {
  const problems = checkFunctionConfig(config);
  if (problems.length > 0) {
    const list = problems.map((p) => `${name}.${p.field}: ${p.message}`).join("; ");
    throw new WfnError("WFN_INVALID_CONFIG", `invalid configuration for function "${name}": ${list}`, { details: { problems } });
  }
}
