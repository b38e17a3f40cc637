// createHost(): loads packaged functions, keeps a pool of sandboxed
// instances per function, and routes triggers to them through a Hono app
// that mounts into any Node server.
import { randomUUID } from "node:crypto";
import { availableParallelism } from "node:os";
import { Hono } from "hono";
import type { ContextRecord, EventValue } from "@wfn/sdk/abi";
import { checkArtifact, readArtifact, readArtifacts, type Artifact } from "./artifact/load.js";
import type { Manifest } from "./artifact/manifest.js";
import { prepareComponent } from "./artifact/prepare.js";
import type { FunctionConfig } from "./config/function-config.js";
import { ACCOUNT_ID, DEFAULT_REGION, lambdaEnvironment } from "./config/lambda-env.js";
import { asWfnError, WfnError } from "./errors.js";
import type { InvocationResult } from "./invocation.js";
import { InvocationLog } from "./observe/invocation-log.js";
import { textSink, type LogSink } from "./observe/log.js";
import { OutboundThread } from "./outbound/thread.js";
import { FunctionPool } from "./pool/pool.js";
import { Scheduler } from "./pool/scheduler.js";
import { mountLambdaApi } from "./api/lambda.js";
import { AsyncInvoker } from "./triggers/async.js";
import { errorResponse, invocationResponse, RouteTable, toHttpRequestRecord } from "./triggers/http.js";
import { defaultCacheDir } from "./util/cache-dir.js";

/** Options of {@link createHost}. */
export interface HostOptions {
  /** `wfn build` output folders (one sub-folder per function) to load at start. */
  dir?: string | string[];
  /** Artifacts to load at start, in addition to `dir`. */
  functions?: Artifact[];
  /** Where transpiled components are cached. Default: `$WFN_CACHE_DIR` or `~/.cache/wfn`. */
  cacheDir?: string;
  /** Number of executor threads. Default: the number of CPUs, at most 4. */
  executors?: number;
  /** Where log records go. Default: text lines on stdout. */
  log?: LogSink;
  /** Largest request body or invoke payload accepted, in bytes. Default: 6 MiB (AWS Lambda's synchronous limit). */
  maxRequestBytes?: number;
  /** Largest response body or result a function may return, in bytes. Default: 6 MiB. */
  maxResponseBytes?: number;
  /** Largest response body a function's outbound fetch() may receive, in bytes. Default: 16 MiB. */
  maxOutboundResponseBytes?: number;
  /** Log output kept per invocation, in bytes; the rest is dropped with a marker. Default: 256 KiB. */
  logLimitBytes?: number;
  /** Instances across all functions; when reached, idle instances of other functions are evicted first (LRU). Default: 256. */
  maxInstances?: number;
  /** Invocations that may wait for an instance, per function, before more are throttled (429). Default: 100. */
  maxQueueLength?: number;
  /** How long an invocation may wait for an instance before it is throttled (429), in ms. Default: 10 000. */
  maxQueueWaitMs?: number;
  /** Idle instances above a function's `minInstances` are reclaimed after this long, in ms. Default: 300 000. */
  idleTimeoutMs?: number;
  /** Instances are replaced by fresh ones after this many invocations (0: never). Default: 0. */
  maxInvocationsPerInstance?: number;
  /** How long close() lets in-flight invocations finish, in ms. Default: 10 000. */
  drainTimeoutMs?: number;
  /** Largest payload of an asynchronous (`Event`) invocation, in bytes. Default: 1 MiB. */
  maxAsyncPayloadBytes?: number;
  /** Delays before retrying a failed asynchronous invocation, in ms; one entry per retry. Default: [1000, 2000]. */
  asyncRetryDelaysMs?: number[];
  /** Region in ARN-style names and in Lambda-style functions' AWS_REGION. Default: `us-east-1`. */
  region?: string;
}

/** Options of a direct invocation. */
export interface InvokeOptions {
  /** Use this request id instead of a fresh UUID. */
  requestId?: string;
  /** JSON text handed to the function as its client context. */
  clientContext?: string;
  /** The version or alias to run: `$LATEST` (the default). */
  qualifier?: string;
}

/** What a host knows about one function. */
export interface FunctionStatus {
  name: string;
  version: string;
  state: "Active" | "Failed";
  /** Why the function failed to load, when it did. */
  stateReason?: string;
  routes: string[];
  sha256?: string;
  config?: FunctionConfig;
  instances: { total: number; idle: number; busy: number };
}

/** A running wfn host. */
export interface Host {
  /** The Hono app serving every trigger; mount it anywhere. */
  readonly app: Hono<{ Variables: { requestId: string } }>;
  /** Handles one HTTP request (the app's fetch). */
  fetch(request: Request, env?: unknown): Promise<Response>;
  /** Invokes a function directly with a JSON payload. */
  invoke(name: string, payload?: unknown, options?: InvokeOptions): Promise<InvocationResult>;
  /** Runs an event through a function (any trigger). */
  dispatch(name: string, event: EventValue, options?: InvokeOptions): Promise<InvocationResult>;
  /** Accepts an asynchronous invocation (run in the background, retried on failure); returns its request id. */
  invokeAsync(name: string, payload?: unknown, options?: Pick<InvokeOptions, "qualifier" | "requestId">): { requestId: string };
  /** Adds or replaces a function without dropping in-flight invocations. */
  deploy(artifact: Artifact | string): Promise<FunctionStatus>;
  /** Removes a function; its in-flight invocations finish first. Returns false if there was none. */
  undeploy(name: string): Promise<boolean>;
  /** The functions this host knows, loaded or failed. */
  functions(): FunctionStatus[];
  /** Stops accepting work, lets in-flight invocations finish, then stops the executors. */
  close(): Promise<void>;
  /** The region used in ARNs and in Lambda-style functions' environment. */
  readonly region: string;
  /** The ARN-style name of a function. */
  arn(name: string, qualifier?: string): string;
}

export const DEFAULT_MAX_REQUEST_BYTES = 6 * 1024 * 1024;
const DEFAULTS = {
  maxResponseBytes: 6 * 1024 * 1024,
  maxOutboundResponseBytes: 16 * 1024 * 1024,
  logLimitBytes: 256 * 1024,
  maxInstances: 256,
  maxQueueLength: 100,
  maxQueueWaitMs: 10_000,
  idleTimeoutMs: 300_000,
  maxInvocationsPerInstance: 0,
  drainTimeoutMs: 10_000,
  maxAsyncPayloadBytes: 1024 * 1024,
  asyncRetryDelaysMs: [1000, 2000],
};

interface Entry {
  name: string;
  revision: number;
  routes: string[];
  manifest: Manifest | undefined;
  pool: FunctionPool | undefined;
  failure: WfnError | undefined;
}

/** Starts a host. Bad artifacts do not stop it: they are reported as failed functions. */
export async function createHost(options: HostOptions = {}): Promise<Host> {
  const host = new WfnHost(options);
  await host.start();
  return host;
}

type HostEnv = { Variables: { requestId: string } };

class WfnHost implements Host {
  readonly app = new Hono<HostEnv>();
  readonly #options: HostOptions;
  readonly #log: LogSink;
  readonly #cacheDir: string;
  readonly #scheduler: Scheduler;
  readonly #outbound = new OutboundThread();
  readonly #async: AsyncInvoker;
  readonly #entries = new Map<string, Entry>();
  readonly #maxRequestBytes: number;
  readonly #maxResponseBytes: number;
  #routes = new RouteTable([]);
  #revision = 0;
  #closing: Promise<void> | undefined;

  constructor(options: HostOptions) {
    this.#options = options;
    this.#log = options.log ?? textSink();
    this.#cacheDir = options.cacheDir ?? defaultCacheDir();
    this.#maxRequestBytes = options.maxRequestBytes ?? DEFAULT_MAX_REQUEST_BYTES;
    this.#maxResponseBytes = options.maxResponseBytes ?? DEFAULTS.maxResponseBytes;
    this.#scheduler = new Scheduler({
      executors: Math.max(1, options.executors ?? Math.min(4, availableParallelism())),
      maxInstances: options.maxInstances ?? DEFAULTS.maxInstances,
      maxQueueLength: options.maxQueueLength ?? DEFAULTS.maxQueueLength,
      maxQueueWaitMs: options.maxQueueWaitMs ?? DEFAULTS.maxQueueWaitMs,
      idleTimeoutMs: options.idleTimeoutMs ?? DEFAULTS.idleTimeoutMs,
      maxInvocationsPerInstance: options.maxInvocationsPerInstance ?? DEFAULTS.maxInvocationsPerInstance,
      drainTimeoutMs: options.drainTimeoutMs ?? DEFAULTS.drainTimeoutMs,
      executorInit: () => this.#outbound.connect(),
      onEvent: (event) => {
        if (event.kind === "executor-lost") {
          this.#hostLog("warn", `executor ${event.index} stopped (${event.reason}); replaced it, ${event.instancesLost} instance(s) lost and re-warmed`);
        }
      },
    });
    this.#async = new AsyncInvoker((name, payload, requestId, qualifier) => this.dispatch(name, { tag: "invoke", val: { payload } }, { requestId, ...(qualifier === undefined ? {} : { qualifier }) }), {
      retryDelaysMs: options.asyncRetryDelaysMs ?? DEFAULTS.asyncRetryDelaysMs,
      log: this.#log,
    });
    this.#mountRoutes();
  }

  fetch = async (request: Request, env?: unknown): Promise<Response> => this.app.fetch(request, env);

  async start(): Promise<void> {
    const artifacts = [...(this.#options.functions ?? [])];
    const dirs = this.#options.dir === undefined ? [] : ([] as string[]).concat(this.#options.dir);
    for (const dir of dirs) {
      const { artifacts: found, failures } = await readArtifacts(dir);
      artifacts.push(...found);
      for (const failure of failures) {
        const name = failure.manifest?.name ?? failure.origin;
        this.#hostLog("error", `function ${name} failed to load: ${failure.error.message}`);
        this.#entries.set(name, {
          name,
          revision: ++this.#revision,
          routes: failure.manifest?.config.routes ?? [],
          manifest: failure.manifest,
          pool: undefined,
          failure: failure.error,
        });
      }
    }
    for (const artifact of artifacts) {
      try {
        await this.deploy(artifact);
      } catch (error) {
        const failure = asWfnError(error, "WFN_INVALID_ARTIFACT");
        this.#hostLog("error", `function ${artifact.manifest.name} failed to load: ${failure.message}`);
        this.#entries.set(artifact.manifest.name, {
          name: artifact.manifest.name,
          revision: ++this.#revision,
          routes: [],
          manifest: artifact.manifest,
          pool: undefined,
          failure,
        });
      }
    }
    this.#routes = this.#routeTable(this.#entries.values());
  }

  async deploy(source: Artifact | string): Promise<FunctionStatus> {
    if (this.#closing) throw new WfnError("WFN_SHUTTING_DOWN");
    const artifact = typeof source === "string" ? await readArtifact(source) : source;
    checkArtifact(artifact);
    const { manifest } = artifact;
    const entry: Entry = {
      name: manifest.name,
      revision: ++this.#revision,
      routes: manifest.config.routes,
      manifest,
      pool: undefined,
      failure: undefined,
    };
    // Check the routes before doing expensive work.
    this.#routeTable(this.#entriesWith(entry));
    const component = await prepareComponent(artifact, this.#cacheDir);
    const pool = new FunctionPool({
      name: manifest.name,
      config: manifest.config,
      component,
      scheduler: this.#scheduler,
      instanceSettings: {
        functionName: manifest.name,
        env: manifest.config.style === "lambda" ? lambdaEnvironment(manifest.name, manifest.config, { region: this.region }) : manifest.config.env,
        allowedOutboundHosts: manifest.config.allowedOutboundHosts,
        logLimitBytes: this.#options.logLimitBytes ?? DEFAULTS.logLimitBytes,
        maxOutboundResponseBytes: this.#options.maxOutboundResponseBytes ?? DEFAULTS.maxOutboundResponseBytes,
      },
    });
    try {
      await pool.warm();
    } catch (error) {
      await pool.drain();
      throw error;
    }
    entry.pool = pool;
    // Another deploy may have changed the routes while this one was preparing.
    let routes: RouteTable;
    try {
      routes = this.#routeTable(this.#entriesWith(entry));
    } catch (error) {
      await pool.drain();
      throw error;
    }
    const previous = this.#entries.get(entry.name);
    this.#entries.set(entry.name, entry);
    this.#routes = routes;
    this.#hostLog(
      "info",
      `function ${entry.name} ready (${component.cached ? "transpile cache hit" : `transpiled in ${component.transpileMs.toFixed(0)} ms`}, compiled in ${component.compileMs.toFixed(0)} ms, ${manifest.config.minInstances} warm)`,
    );
    void previous?.pool?.drain();
    return this.#status(entry);
  }

  async undeploy(name: string): Promise<boolean> {
    const entry = this.#entries.get(name);
    if (entry === undefined) return false;
    this.#entries.delete(name);
    this.#routes = this.#routeTable(this.#entries.values());
    await entry.pool?.drain();
    this.#hostLog("info", `function ${name} removed`);
    return true;
  }

  functions(): FunctionStatus[] {
    return [...this.#entries.values()].sort((a, b) => a.name.localeCompare(b.name)).map((entry) => this.#status(entry));
  }

  invoke(name: string, payload: unknown = null, options: InvokeOptions = {}): Promise<InvocationResult> {
    let text: string;
    try {
      text = JSON.stringify(payload === undefined ? null : payload);
    } catch (cause) {
      return Promise.reject(new WfnError("WFN_INVALID_REQUEST", `the payload cannot be serialised as JSON: ${(cause as Error).message}`, { cause }));
    }
    const size = Buffer.byteLength(text);
    if (size > this.#maxRequestBytes) {
      return Promise.reject(
        new WfnError("WFN_PAYLOAD_TOO_LARGE", `Request must be smaller than ${this.#maxRequestBytes} bytes for the InvokeFunction operation`, { details: { size } }),
      );
    }
    return this.dispatch(name, { tag: "invoke", val: { payload: text } }, options);
  }

  async dispatch(name: string, event: EventValue, options: InvokeOptions = {}): Promise<InvocationResult> {
    if (this.#closing) throw new WfnError("WFN_SHUTTING_DOWN");
    const entry = this.#resolve(name, options.qualifier);
    if (entry.pool === undefined || entry.manifest === undefined) {
      throw new WfnError("WFN_FUNCTION_UNAVAILABLE", `function ${name} is not available: ${entry.failure?.message ?? "not loaded"}`);
    }
    const requestId = options.requestId ?? randomUUID();
    const config = entry.manifest.config;
    const context: ContextRecord = {
      requestId,
      functionName: name,
      functionVersion: "$LATEST",
      invokedFunctionArn: this.arn(name, options.qualifier),
      memoryLimitMb: config.memoryMB,
      deadlineMs: 0n, // set by the scheduler when the invocation starts
      clientContext: options.clientContext,
    };
    const scheduled = await entry.pool.invoke(event, context);
    const log = new InvocationLog(this.#log, { function: name, version: "$LATEST", requestId });
    const facts = { requestId, functionName: name, functionVersion: "$LATEST", coldStart: scheduled.coldStart, initMs: scheduled.initMs };
    const report = { memorySizeMB: config.memoryMB, initMs: scheduled.initMs };
    let result: InvocationResult;
    if (scheduled.status === "timeout") {
      const error = new WfnError("WFN_TIMED_OUT", `RequestId: ${requestId} Error: Task timed out after ${(scheduled.elapsedMs / 1000).toFixed(2)} seconds`);
      log.host("error", error.message);
      log.finish({ ...report, durationMs: scheduled.elapsedMs, memoryUsedBytes: undefined, timedOut: true });
      return { ...facts, durationMs: scheduled.elapsedMs, status: "failed", error, log: log.text() };
    }
    const call = scheduled.result;
    log.guest(call.logs);
    const done = { ...facts, durationMs: call.durationMs };
    switch (call.status) {
      case "ok": {
        const size = call.outcome.tag === "http" ? call.outcome.val.body.byteLength : call.outcome.val.byteLength;
        if (size > this.#maxResponseBytes) {
          const error = new WfnError(
            "WFN_RESPONSE_TOO_LARGE",
            `Response payload size exceeded maximum allowed payload size (${this.#maxResponseBytes} bytes): the function returned ${size} bytes`,
          );
          log.host("error", error.message);
          result = { ...done, status: "failed", error, log: "" };
        } else {
          result = { ...done, status: "ok", outcome: call.outcome, log: "" };
        }
        break;
      }
      case "error":
        log.host("error", `Invoke Error ${call.error.errorType}: ${call.error.message}${call.error.stack ? `\n${call.error.stack.trimEnd()}` : ""}`);
        result = { ...done, status: "error", error: call.error, log: "" };
        break;
      case "trap": {
        const error = call.outOfMemory
          ? new WfnError("WFN_OUT_OF_MEMORY", `RequestId: ${requestId} Error: Runtime exited with error: out of memory (limit ${config.memoryMB} MB)`)
          : new WfnError("WFN_GUEST_TRAP", `RequestId: ${requestId} Error: Runtime exited with error: ${call.message}`);
        log.host("error", error.message);
        result = { ...done, status: "failed", error, log: "" };
        break;
      }
    }
    log.finish({ ...report, durationMs: call.durationMs, memoryUsedBytes: call.memoryBytes, timedOut: false });
    result.log = log.text();
    return result;
  }

  invokeAsync(name: string, payload: unknown = null, options: Pick<InvokeOptions, "qualifier" | "requestId"> = {}): { requestId: string } {
    if (this.#closing) throw new WfnError("WFN_SHUTTING_DOWN");
    this.#resolve(name, options.qualifier);
    const requestId = options.requestId ?? randomUUID();
    this.#async.enqueue(name, JSON.stringify(payload === undefined ? null : payload), requestId, options.qualifier);
    return { requestId };
  }

  /** The entry a name (and qualifier) designates, or WFN_FUNCTION_NOT_FOUND. */
  #resolve(name: string, qualifier: string | undefined): Entry {
    const entry = this.#entries.get(name);
    if (entry === undefined || (qualifier !== undefined && qualifier !== "$LATEST")) {
      throw new WfnError("WFN_FUNCTION_NOT_FOUND", `Function not found: ${this.arn(name, qualifier ?? "$LATEST")}`);
    }
    return entry;
  }

  close(): Promise<void> {
    this.#closing ??= (async () => {
      await this.#async.close();
      await Promise.all([...this.#entries.values()].map((entry) => entry.pool?.drain()));
      await this.#scheduler.close();
      await this.#outbound.close();
    })();
    return this.#closing;
  }

  #mountRoutes(): void {
    const app = this.app;
    app.use("*", async (c, next) => {
      c.set("requestId", randomUUID());
      await next();
      if (!c.res.headers.has("x-wfn-request-id")) c.res.headers.set("x-wfn-request-id", c.get("requestId"));
    });
    app.get("/_wfn/health", (c) => c.json({ status: this.#closing ? "stopping" : "ok", functions: this.#entries.size }));
    app.get("/_wfn/functions", (c) => c.json({ functions: this.functions() }));
    app.all("/_wfn/*", (c) =>
      errorResponse(new WfnError("WFN_ROUTE_NOT_FOUND", `No host route ${c.req.method} ${c.req.path}`), c.get("requestId")),
    );
    mountLambdaApi(app, {
      dispatchInvoke: (name, payload, options) =>
        this.dispatch(name, { tag: "invoke", val: { payload } }, { requestId: options.requestId, ...(options.qualifier === undefined ? {} : { qualifier: options.qualifier }), ...(options.clientContext === undefined ? {} : { clientContext: options.clientContext }) }),
      resolve: (name, qualifier) => this.#resolve(name, qualifier),
      invokeAsync: (name, payload, requestId, qualifier) => this.#async.enqueue(name, payload, requestId, qualifier),
      maxRequestBytes: this.#maxRequestBytes,
      maxAsyncPayloadBytes: this.#options.maxAsyncPayloadBytes ?? DEFAULTS.maxAsyncPayloadBytes,
    });
    app.all("*", async (c) => {
      const requestId = c.get("requestId");
      try {
        if (this.#closing) throw new WfnError("WFN_SHUTTING_DOWN");
        const match = this.#routes.match(c.req.method, c.req.path);
        if (match === undefined) throw new WfnError("WFN_ROUTE_NOT_FOUND", `No function handles ${c.req.method} ${c.req.path}`);
        const request = await toHttpRequestRecord(c, { maxRequestBytes: this.#maxRequestBytes }, match);
        return invocationResponse(await this.dispatch(match.name, { tag: "http", val: request }, { requestId }));
      } catch (error) {
        const failure = asWfnError(error);
        if (failure.code === "WFN_INTERNAL") this.#hostLog("error", `request ${requestId} failed: ${failure.message}`, requestId);
        return errorResponse(failure, requestId);
      }
    });
    app.onError((error, c) => errorResponse(asWfnError(error), c.get("requestId") ?? randomUUID()));
  }

  #entriesWith(replacement: Entry): Entry[] {
    return [...[...this.#entries.values()].filter((entry) => entry.name !== replacement.name), replacement];
  }

  /**
   * Routes of working functions must not clash (that throws). Routes of failed
   * functions stay mapped where they do not clash, so callers get a clear 503
   * rather than a 404.
   */
  #routeTable(entries: Iterable<Entry>): RouteTable {
    const all = [...entries];
    const routed = all.filter((entry) => entry.failure === undefined).map((entry) => ({ name: entry.name, routes: entry.routes }));
    let table = new RouteTable(routed);
    for (const entry of all.filter((e) => e.failure !== undefined)) {
      try {
        table = new RouteTable([...routed, { name: entry.name, routes: entry.routes }]);
        routed.push({ name: entry.name, routes: entry.routes });
      } catch {
        // Clashes with a working function: the failed one keeps no routes.
      }
    }
    return table;
  }

  #status(entry: Entry): FunctionStatus {
    const stats = entry.pool?.stats;
    return {
      name: entry.name,
      version: "$LATEST",
      state: entry.failure === undefined ? "Active" : "Failed",
      ...(entry.failure === undefined ? {} : { stateReason: entry.failure.message }),
      routes: [...entry.routes],
      ...(entry.manifest === undefined ? {} : { sha256: entry.manifest.component.sha256, config: entry.manifest.config }),
      instances: { total: stats?.instances ?? 0, idle: stats?.idle ?? 0, busy: stats?.busy ?? 0 },
    };
  }

  /** `arn:aws:lambda:<region>:<account>:function:<name>[:<qualifier>]` */
  arn(name: string, qualifier?: string): string {
    return `arn:aws:lambda:${this.region}:${ACCOUNT_ID}:function:${name}${qualifier === undefined ? "" : `:${qualifier}`}`;
  }

  get region(): string {
    return this.#options.region ?? DEFAULT_REGION;
  }

  #hostLog(level: "info" | "warn" | "error", message: string, requestId?: string): void {
    this.#log({ time: Date.now(), level, message, source: "host", ...(requestId === undefined ? {} : { requestId }) });
  }
}
