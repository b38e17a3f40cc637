// createHost(): loads packaged functions, keeps a pool of sandboxed
// instances per function, runs their triggers (HTTP, Invoke API, queues,
// schedules, storage notifications, asynchronous invocations) and serves
// them through a Hono app that mounts into any Node server.
import { randomUUID } from "node:crypto";
import { availableParallelism } from "node:os";
import { MessageChannel } from "node:worker_threads";
import { Hono } from "hono";
import type { ContextRecord, EventValue } from "@wfn/sdk/abi";
import { mountRoutes, type HostEnv, type HostInternals } from "./app.js";
import { checkArtifact, readAppConfig, readArtifact, readArtifacts, type Artifact } from "./artifact/load.js";
import type { Manifest } from "./artifact/manifest.js";
import { prepareComponent } from "./artifact/prepare.js";
import { checkAppConfig, resolveQueueConfig, type QueueConfig } from "./config/function-config.js";
import { ACCOUNT_ID, DEFAULT_REGION, lambdaEnvironment } from "./config/lambda-env.js";
import { asWfnError, WfnError } from "./errors.js";
import { DEFAULT_MAX_REQUEST_BYTES, DEFAULTS, type FunctionStatus, type Host, type HostOptions, type HostQueues, type InvokeOptions } from "./host-types.js";
import type { InvocationResult } from "./invocation.js";
import { InvocationLog } from "./observe/invocation-log.js";
import { textSink, type LogSink } from "./observe/log.js";
import { OutboundThread } from "./outbound/thread.js";
import { serveHostCalls, type HostCallRequest } from "./pool/host-calls.js";
import { FunctionPool } from "./pool/pool.js";
import { Scheduler } from "./pool/scheduler.js";
import { openSqliteStore } from "./store/sqlite.js";
import type { Store } from "./store/store.js";
import { AsyncInvocations } from "./triggers/async.js";
import { RouteTable } from "./triggers/http.js";
import { Queues } from "./triggers/queues.js";
import { Schedules } from "./triggers/schedules.js";
import { defaultCacheDir } from "./util/cache-dir.js";

export { DEFAULT_MAX_REQUEST_BYTES };
export type { FunctionStatus, Host, HostOptions, HostQueues, InvokeOptions };

interface Entry {
  name: string;
  routes: string[];
  manifest: Manifest | undefined;
  pool: FunctionPool | undefined;
  failure: WfnError | undefined;
}

/** Starts a host. Bad artifacts do not stop it: they are reported as failed functions. */
export async function createHost(options: HostOptions = {}): Promise<Host> {
  const store = await openSqliteStore(options.dataDir);
  const host = new WfnHost(options, store);
  try {
    await host.start();
  } catch (error) {
    await host.close();
    throw error;
  }
  return host;
}

class WfnHost implements Host {
  readonly app = new Hono<HostEnv>();
  readonly #options: HostOptions;
  readonly #log: LogSink;
  readonly #cacheDir: string;
  readonly #store: Store;
  readonly #scheduler: Scheduler;
  readonly #outbound = new OutboundThread();
  readonly #async: AsyncInvocations;
  readonly #queues: Queues;
  readonly #schedules: Schedules;
  readonly #entries = new Map<string, Entry>();
  readonly #maxRequestBytes: number;
  readonly #maxResponseBytes: number;
  #queueConfig: Record<string, QueueConfig> = {};
  #routes = new RouteTable([]);
  #closing: Promise<void> | undefined;

  constructor(options: HostOptions, store: Store) {
    this.#options = options;
    this.#store = store;
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
      executorInit: () => this.#executorInit(),
      onEvent: (event) => {
        if (event.kind === "executor-lost") {
          this.#hostLog("warn", `executor ${event.index} stopped (${event.reason}); replaced it, ${event.instancesLost} instance(s) lost and re-warmed`);
        }
      },
    });
    const run = (name: string, event: EventValue, options: InvokeOptions = {}) => this.dispatch(name, event, options);
    this.#queues = new Queues(store, (name, event) => run(name, event), this.#log);
    this.#async = new AsyncInvocations({
      store,
      run: (name, event, options) => run(name, event, { requestId: options.requestId, ...(options.qualifier === undefined ? {} : { qualifier: options.qualifier }) }),
      settings: (name) => {
        const config = this.#entries.get(name)?.manifest?.config;
        return config === undefined ? undefined : { async: config.async, timeoutMs: config.timeoutMs };
      },
      sendToQueue: async (queue, body) => void (await this.#queues.send(queue, [{ body }])),
      arn: (name, qualifier) => this.arn(name, qualifier),
      log: this.#log,
      retryDelayMs: options.asyncRetryDelayMs ?? DEFAULTS.asyncRetryDelayMs,
      leaseMs: options.asyncLeaseMs ?? DEFAULTS.asyncLeaseMs,
      pollMs: options.asyncPollMs ?? DEFAULTS.asyncPollMs,
      concurrency: DEFAULTS.asyncConcurrency,
    });
    this.#schedules = new Schedules(
      store,
      (name, event, requestId) => this.#async.accept(name, event, requestId),
      (requestId, listener) => this.#async.onSettled(requestId, listener),
      this.#log,
    );
    mountRoutes(this.app, this.#internals());
  }

  fetch = async (request: Request, env?: unknown): Promise<Response> => this.app.fetch(request, env);

  get region(): string {
    return this.#options.region ?? DEFAULT_REGION;
  }

  /** `arn:aws:lambda:<region>:<account>:function:<name>[:<qualifier>]` */
  arn(name: string, qualifier?: string): string {
    return `arn:aws:lambda:${this.region}:${ACCOUNT_ID}:function:${name}${qualifier === undefined ? "" : `:${qualifier}`}`;
  }

  get queues(): HostQueues {
    const queues = this.#queues;
    return {
      send: async (queue, body, attributes, options) => (await queues.send(queue, [{ body, ...(attributes === undefined ? {} : { attributes }), ...(options ?? {}) }]))[0]!,
      stats: () => queues.stats(),
      peek: (queue, limit) => queues.peek(queue, limit),
      deadLetters: (queue, limit) => queues.deadLetters(queue, limit),
      redrive: (queue) => queues.redrive(queue),
    };
  }

  async start(): Promise<void> {
    const artifacts = [...(this.#options.functions ?? [])];
    const queues: Record<string, QueueConfig> = {};
    for (const [name, queue] of Object.entries(this.#options.queues ?? {})) queues[name] = resolveQueueConfig(name, queue);
    const dirs = this.#options.dir === undefined ? [] : ([] as string[]).concat(this.#options.dir);
    for (const dir of dirs) {
      Object.assign(queues, (await readAppConfig(dir)).queues);
      const { artifacts: found, failures } = await readArtifacts(dir);
      artifacts.push(...found);
      for (const failure of failures) {
        const name = failure.manifest?.name ?? failure.origin;
        this.#hostLog("error", `function ${name} failed to load: ${failure.error.message}`);
        this.#entries.set(name, { name, routes: failure.manifest?.config.routes ?? [], manifest: failure.manifest, pool: undefined, failure: failure.error });
      }
    }
    this.#queueConfig = queues;
    this.#queues.configure(queues);
    for (const artifact of artifacts) {
      try {
        await this.deploy(artifact);
      } catch (error) {
        const failure = asWfnError(error, "WFN_INVALID_ARTIFACT");
        this.#hostLog("error", `function ${artifact.manifest.name} failed to load: ${failure.message}`);
        this.#entries.set(artifact.manifest.name, { name: artifact.manifest.name, routes: [], manifest: artifact.manifest, pool: undefined, failure });
      }
    }
    this.#routes = this.#routeTable(this.#entries.values());
    await this.#async.start();
  }

  async deploy(source: Artifact | string): Promise<FunctionStatus> {
    if (this.#closing) throw new WfnError("WFN_SHUTTING_DOWN");
    const artifact = typeof source === "string" ? await readArtifact(source) : source;
    checkArtifact(artifact);
    const { manifest } = artifact;
    const problems = checkAppConfig(new Map([[manifest.name, manifest.config]]), this.#queueConfig);
    if (problems.length > 0) {
      throw new WfnError("WFN_INVALID_CONFIG", `function ${manifest.name}: ${problems.map((p) => `${p.field}: ${p.message}`).join("; ")}`);
    }
    const entry: Entry = { name: manifest.name, routes: manifest.config.routes, manifest, pool: undefined, failure: undefined };
    // Check the routes before doing expensive work.
    this.#routeTable(this.#entriesWith(entry));
    const component = await prepareComponent(artifact, this.#cacheDir);
    const { config } = manifest;
    const pool = new FunctionPool({
      name: manifest.name,
      config,
      component,
      scheduler: this.#scheduler,
      instanceSettings: {
        functionName: manifest.name,
        env: config.style === "lambda" ? lambdaEnvironment(manifest.name, config, { region: this.region }) : config.env,
        allowedOutboundHosts: config.allowedOutboundHosts,
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
    let routes: RouteTable;
    try {
      // Another deploy may have changed the routes while this one was preparing.
      routes = this.#routeTable(this.#entriesWith(entry));
    } catch (error) {
      await pool.drain();
      throw error;
    }
    const previous = this.#entries.get(entry.name);
    this.#entries.set(entry.name, entry);
    this.#routes = routes;
    this.#queues.subscribe(entry.name, config.queue, config.maxConcurrency);
    await this.#schedules.set(entry.name, config.schedule);
    this.#hostLog(
      "info",
      `function ${entry.name} ready (${component.cached ? "transpile cache hit" : `transpiled in ${component.transpileMs.toFixed(0)} ms`}, compiled in ${component.compileMs.toFixed(0)} ms, ${config.minInstances} warm)`,
    );
    void previous?.pool?.drain();
    return this.#status(entry);
  }

  async undeploy(name: string): Promise<boolean> {
    const entry = this.#entries.get(name);
    if (entry === undefined) return false;
    this.#entries.delete(name);
    this.#routes = this.#routeTable(this.#entries.values());
    this.#queues.subscribe(name, undefined, 0);
    await this.#schedules.set(name, undefined);
    await entry.pool?.drain();
    this.#hostLog("info", `function ${name} removed`);
    return true;
  }

  functions(): FunctionStatus[] {
    return [...this.#entries.values()].sort((a, b) => a.name.localeCompare(b.name)).map((entry) => this.#status(entry));
  }

  invoke(name: string, payload?: unknown, options?: InvokeOptions & { async?: false }): Promise<InvocationResult>;
  invoke(name: string, payload: unknown, options: InvokeOptions & { async: true }): Promise<{ requestId: string }>;
  invoke(name: string, payload: unknown = null, options: InvokeOptions & { async?: boolean } = {}): Promise<InvocationResult | { requestId: string }> {
    const { async, ...rest } = options;
    if (async === true) return this.invokeAsync(name, payload, rest);
    let text: string;
    try {
      text = this.#payload(payload);
    } catch (error) {
      return Promise.reject(error);
    }
    return this.dispatch(name, { tag: "invoke", val: { payload: text } }, rest);
  }

  async invokeAsync(name: string, payload: unknown = null, options: Pick<InvokeOptions, "qualifier" | "requestId"> = {}): Promise<{ requestId: string }> {
    if (this.#closing) throw new WfnError("WFN_SHUTTING_DOWN");
    this.#resolve(name, options.qualifier);
    const requestId = options.requestId ?? randomUUID();
    const limit = this.#options.maxAsyncPayloadBytes ?? DEFAULTS.maxAsyncPayloadBytes;
    await this.#async.accept(name, { tag: "invoke", val: { payload: this.#payload(payload, limit, `for the Event invocation type`) } }, requestId, options.qualifier);
    return { requestId };
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
    if (scheduled.status === "timeout") {
      const error = new WfnError("WFN_TIMED_OUT", `RequestId: ${requestId} Error: Task timed out after ${(scheduled.elapsedMs / 1000).toFixed(2)} seconds`);
      log.host("error", error.message);
      log.finish({ ...report, durationMs: scheduled.elapsedMs, memoryUsedBytes: undefined, timedOut: true });
      return { ...facts, durationMs: scheduled.elapsedMs, status: "failed", error, log: log.text() };
    }
    const call = scheduled.result;
    log.guest(call.logs);
    const done = { ...facts, durationMs: call.durationMs };
    let result: InvocationResult;
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

  close(): Promise<void> {
    this.#closing ??= (async () => {
      this.#schedules.close();
      await this.#queues.close();
      await this.#async.close();
      await Promise.all([...this.#entries.values()].map((entry) => entry.pool?.drain()));
      await this.#scheduler.close();
      await this.#outbound.close();
      await this.#store.close();
    })();
    return this.#closing;
  }

  #internals(): HostInternals {
    // eslint-disable-next-line @typescript-eslint/no-this-alias
    const self = this;
    return {
      get closing() {
        return self.#closing !== undefined;
      },
      maxRequestBytes: this.#maxRequestBytes,
      maxAsyncPayloadBytes: this.#options.maxAsyncPayloadBytes ?? DEFAULTS.maxAsyncPayloadBytes,
      log: this.#log,
      routes: () => this.#routes,
      functions: () => this.functions(),
      dispatch: (name, event, options) => this.dispatch(name, event, options),
      resolve: (name, qualifier) => void this.#resolve(name, qualifier),
      acceptAsync: (name, event, requestId, qualifier) => {
        if (this.#closing) throw new WfnError("WFN_SHUTTING_DOWN");
        return this.#async.accept(name, event, requestId, qualifier);
      },
      queues: this.#queues,
      schedules: this.#schedules,
      asyncPending: () => this.#async.pending(),
      asyncFailures: (name, limit) => this.#store.listAsyncFailures(name, limit),
      storageTrigger: (name) => this.#entries.get(name)?.manifest?.config.storage,
    };
  }

  /** What an executor needs at start: a channel to the outbound thread, and one for guests' calls to the host. */
  #executorInit() {
    const outbound = this.#outbound.connect();
    const { port1, port2 } = new MessageChannel();
    const signal = new SharedArrayBuffer(4);
    serveHostCalls(port2, signal, (request) => this.#hostCall(request));
    return { init: { ...outbound.init, hostCalls: { port: port1, signal } }, transfer: [...outbound.transfer, port1] };
  }

  async #hostCall(request: HostCallRequest): Promise<string> {
    const [id] = await this.#queues.send(request.queue, [{ body: request.body, attributes: Object.fromEntries(request.attributes) }]);
    return id!;
  }

  #payload(payload: unknown, limit = this.#maxRequestBytes, operation = "for the InvokeFunction operation"): string {
    let text: string;
    try {
      text = JSON.stringify(payload === undefined ? null : payload);
    } catch (cause) {
      throw new WfnError("WFN_INVALID_REQUEST", `the payload cannot be serialised as JSON: ${(cause as Error).message}`, { cause });
    }
    if (Buffer.byteLength(text) > limit) {
      throw new WfnError("WFN_PAYLOAD_TOO_LARGE", `Request must be smaller than ${limit} bytes ${operation}`);
    }
    return text;
  }

  /** The entry a name (and qualifier) designates, or WFN_FUNCTION_NOT_FOUND. */
  #resolve(name: string, qualifier: string | undefined): Entry {
    const entry = this.#entries.get(name);
    if (entry === undefined || (qualifier !== undefined && qualifier !== "$LATEST")) {
      throw new WfnError("WFN_FUNCTION_NOT_FOUND", `Function not found: ${this.arn(name, qualifier ?? "$LATEST")}`);
    }
    return entry;
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

  #hostLog(level: "info" | "warn" | "error", message: string, requestId?: string): void {
    this.#log({ time: Date.now(), level, message, source: "host", ...(requestId === undefined ? {} : { requestId }) });
  }
}
