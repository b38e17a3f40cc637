// createHost(): keeps what is deployed (versions, aliases) in its store,
// a pool of sandboxed instances per running version, runs the triggers
// (HTTP, Invoke API, queues, schedules, storage notifications, asynchronous
// invocations) and serves them through a Hono app that mounts into any Node
// server. Every change to what is deployed is planned on a copy of the
// registry, prepared (components compiled, instances warmed), persisted,
// and only then switched to in one step.
import { randomUUID } from "node:crypto";
import { isDeepStrictEqual } from "node:util";
import { availableParallelism, tmpdir } from "node:os";
import { join } from "node:path";
import { Hono } from "hono";
import type { ContextRecord, EventValue, OutcomeValue } from "@wfn/sdk/abi";
import { mountRoutes, type HostEnv, type HostInternals } from "./app.js";
import { removeStaleUploads } from "./api/upload.js";
import { checkArtifact, prepareValidators, readAppConfig, readArtifact, readArtifacts, type Artifact } from "./artifact/load.js";
import { prepareComponent } from "./artifact/prepare.js";
import { mapLimit } from "./util/map-limit.js";
import { checkAppConfig, checkQueues, resolveFunctionConfig, resolveQueueConfig, type FunctionConfig, type QueueConfig } from "./config/function-config.js";
import { ACCOUNT_ID, DEFAULT_REGION, lambdaEnvironment } from "./config/lambda-env.js";
import { LATEST, Registry, type DeployedFunction, type Upload } from "./deploy/registry.js";
import { asWfnError, WfnError } from "./errors.js";
import {
  DEFAULT_MAX_REQUEST_BYTES,
  DEFAULTS,
  type AliasStatus,
  type ConfigurationPatch,
  type DeploymentResult,
  type DeployOptions,
  type FunctionStatus,
  type InstanceCounts,
  type Host,
  type HostOptions,
  type HostQueues,
  type InvokeOptions,
  type VersionStatus,
} from "./host-types.js";
import type { InvocationResult } from "./invocation.js";
import { InvocationLog } from "./observe/invocation-log.js";
import { textSink, type LogSink } from "./observe/log.js";
import { LogStore } from "./observe/log-store.js";
import { Metrics } from "./observe/metrics.js";
import type { InvocationSummary, PoolSnapshot, TriggerKind } from "./observe/telemetry.js";
import type { HostCallRequest } from "./pool/protocol.js";
import { FunctionPool } from "./pool/pool.js";
import { Scheduler } from "./pool/scheduler.js";
import { openSqliteStore } from "./store/sqlite.js";
import type { RegistryChange, Store, VersionRecord } from "./store/store.js";
import { AsyncInvocations } from "./triggers/async.js";
import { RouteTable } from "./triggers/http.js";
import { Queues } from "./triggers/queues.js";
import { Schedules } from "./triggers/schedules.js";
import { defaultCacheDir } from "./util/cache-dir.js";

export { DEFAULT_MAX_REQUEST_BYTES };
export type { FunctionStatus, Host, HostOptions, HostQueues, InvokeOptions };

/** A function that could not be loaded from disk, and why. */
interface LoadFailure {
  error: WfnError;
  /** Routes it would have served (from its manifest, when readable): they answer 503 rather than 404. */
  routes: string[];
}

/** The pool of one version, once prepared. */
interface PoolSlot {
  version: VersionRecord;
  ready: Promise<FunctionPool>;
  pool: FunctionPool | undefined;
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
  readonly #async: AsyncInvocations;
  readonly #queues: Queues;
  readonly #schedules: Schedules;
  readonly #maxRequestBytes: number;
  readonly #maxResponseBytes: number;
  #registry = new Registry();
  readonly #pools = new Map<string, PoolSlot>();
  readonly #failures = new Map<string, LoadFailure>();
  /** Functions a change is being prepared for. */
  readonly #updating = new Set<string>();
  /** Why the latest change of a function failed. */
  readonly #updateFailures = new Map<string, string>();
  /** Changes to what is deployed, one at a time. */
  #changes: Promise<unknown> = Promise.resolve();
  #queueConfig: Record<string, QueueConfig> = {};
  #routes = new RouteTable([]);
  #closing: Promise<void> | undefined;
  readonly #logStore = new LogStore();
  readonly #metrics: Metrics;

  constructor(options: HostOptions, store: Store) {
    this.#options = options;
    this.#store = store;
    const sink = options.log ?? textSink();
    this.#log = (record) => {
      this.#logStore.append(record);
      sink(record);
    };
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
      hostCalls: (request) => this.#hostCall(request),
      onEvent: (event) => {
        if (event.kind === "executor-lost") {
          this.#hostLog("warn", `executor ${event.index} stopped (${event.reason}); replaced it, ${event.instancesLost} instance(s) lost and re-warmed`);
        }
      },
    });
    this.#metrics = new Metrics({
      pools: () => this.#poolSnapshots(),
      queues: async () => (await this.#queues.stats()).map((q) => ({ queue: q.name, visible: q.visible, inFlight: q.inFlight, deadLettered: q.deadLettered })),
      asyncPending: () => this.#async.pending(),
      onSourceError: (source, error) => this.#hostLog("error", `metrics: reading ${source} failed: ${(error as Error).message}`),
    });
    this.#queues = new Queues(store, (name, event) => this.dispatch(name, event, this.#trafficOptions(name)), this.#log);
    this.#async = new AsyncInvocations({
      store,
      run: (name, event, options) => this.dispatch(name, event, { requestId: options.requestId, ...(options.qualifier === undefined ? {} : { qualifier: options.qualifier }) }),
      settings: (name) => {
        const config = this.#registry.trafficConfig(name);
        return config === undefined ? undefined : { async: config.async, timeoutMs: config.timeoutMs };
      },
      sendToQueue: async (queue, body) => void (await this.#queues.send(queue, [{ body }])),
      arn: (name, qualifier) => this.arn(name, qualifier),
      log: this.#log,
      retryDelayMs: options.asyncRetryDelayMs ?? DEFAULTS.asyncRetryDelayMs,
      leaseMs: options.asyncLeaseMs ?? DEFAULTS.asyncLeaseMs,
      pollMs: options.asyncPollMs ?? DEFAULTS.asyncPollMs,
      concurrency: DEFAULTS.asyncConcurrency,
      onAttempt: (name, ageMs) => this.#metrics.asyncAttempt(name, ageMs),
    });
    this.#schedules = new Schedules(
      store,
      (name, event, requestId) => this.#async.accept(name, event, requestId, this.#trafficOptions(name).qualifier),
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
    // Before any schedule fires: claims left in the store belong to a host that is gone.
    await this.#async.recover();
    if (this.#options.dataDir !== undefined) await removeStaleUploads(this.#uploadDir);
    const snapshot = await this.#store.loadRegistry();
    this.#registry = Registry.from(snapshot);
    const queues: Record<string, QueueConfig> = { ...(snapshot.queues ?? {}) };
    for (const [name, queue] of Object.entries(this.#options.queues ?? {})) queues[name] = resolveQueueConfig(name, queue);
    const dirs = this.#options.dir === undefined ? [] : ([] as string[]).concat(this.#options.dir);
    const artifacts = [...(this.#options.functions ?? [])];
    for (const dir of dirs) {
      Object.assign(queues, (await readAppConfig(dir)).queues);
      const { artifacts: found, failures } = await readArtifacts(dir);
      artifacts.push(...found);
      for (const failure of failures) {
        const name = failure.manifest?.name ?? failure.origin;
        this.#hostLog("error", `function ${name} failed to load: ${failure.error.message}`);
        this.#failures.set(name, { error: failure.error, routes: failure.manifest?.config.routes ?? [] });
      }
    }
    // Queues from the store, the options and the build folders are held to the same rules as a deployment's.
    const problems = checkQueues(queues, this.#maxQueues);
    if (problems.length > 0) throw new WfnError("WFN_INVALID_CONFIG", `the host's queues: ${problems.map((p) => `${p.field}: ${p.message}`).join("; ")}`);
    this.#setQueues(queues);
    // What was deployed before: prepare the versions in use, a few at a time.
    const inUse = [...this.#registry.functions.values()].flatMap((fn) => [...this.#registry.referenced(fn)].map((version) => ({ fn, version })));
    await mapLimit(inUse, PREPARE_CONCURRENCY, async ({ fn, version }) => {
      try {
        await this.#poolFor(fn.versions.get(version)!);
      } catch (error) {
        const failure = asWfnError(error, "WFN_INVALID_ARTIFACT");
        this.#hostLog("error", `function ${fn.record.name} version ${version} failed to load: ${failure.message}`);
        this.#failures.set(fn.record.name, { error: failure, routes: fn.versions.get(version)!.manifest.config.routes });
      }
    });
    // What is on disk: components prepared a few at a time (one's compilation overlaps another's
    // rewriting), held here until deployed; only artifacts that pass their checks, so nothing
    // unverified reaches the transpile cache.
    const ready = await mapLimit(artifacts.filter(passesChecks), PREPARE_CONCURRENCY, (artifact) => prepareComponent(artifact, this.#cacheDir).catch(() => undefined));
    // Then deployed one function at a time, so one bad artifact does not hold back the others.
    const deployed = new Set<string>();
    for (const artifact of artifacts) {
      try {
        await this.deploy(artifact);
        deployed.add(artifact.manifest.name);
      } catch (error) {
        const failure = asWfnError(error, "WFN_INVALID_ARTIFACT");
        this.#hostLog("error", `function ${artifact.manifest.name} failed to load: ${failure.message}`);
        if (this.#registry.get(artifact.manifest.name) === undefined) this.#failures.set(artifact.manifest.name, { error: failure, routes: [] });
        else this.#updateFailures.set(artifact.manifest.name, failure.message);
      }
    }
    ready.length = 0;
    if (!isDeepStrictEqual(snapshot.queues, this.#queueConfig)) await this.#store.saveRegistry({ queues: this.#queueConfig });
    this.#routes = this.#routeTable(this.#registry);
    // A deployment above already started its function's triggers; the others only come from the store.
    for (const name of this.#registry.functions.keys()) if (!deployed.has(name)) await this.#syncTriggers(name);
    this.#async.start();
    // Ready for the first deployment (compiling the validators is ~100 ms), without delaying start-up.
    setImmediate(prepareValidators).unref();
  }

  // ---- Deploying ---------------------------------------------------------

  async deploy(source: Artifact | string, options: DeployOptions = {}): Promise<FunctionStatus> {
    const artifact = typeof source === "string" ? await readArtifact(source) : source;
    await this.deployApp([artifact], options);
    return this.function(artifact.manifest.name)!;
  }

  async deployApp(sources: Array<Artifact | string>, options: DeployOptions = {}): Promise<DeploymentResult> {
    const artifacts = await Promise.all(sources.map((source) => (typeof source === "string" ? readArtifact(source) : source)));
    if (artifacts.length === 0) throw new WfnError("WFN_INVALID_REQUEST", "nothing to deploy");
    const names = new Set<string>();
    for (const artifact of artifacts) {
      checkArtifact(artifact);
      if (names.has(artifact.manifest.name)) throw new WfnError("WFN_INVALID_REQUEST", `function ${artifact.manifest.name} is in the deployment twice`);
      names.add(artifact.manifest.name);
    }
    // A manifest may use the short forms wfn.json allows (`"queue": "jobs"`); what runs has them filled in.
    const uploads: Upload[] = artifacts.map(({ manifest, component }) => ({ manifest: { ...manifest, config: resolveFunctionConfig(manifest.config) }, component }));
    return this.#serialized(async () => {
      const { change, results } = this.#registry.planDeploy(uploads, Date.now(), options.description);
      // Queues change only with a deployment that carries them, merged into what is current once
      // earlier changes are done (a copy taken before waiting could undo a concurrent one).
      let queues: Record<string, QueueConfig> | undefined;
      if (options.queues !== undefined) {
        queues = { ...this.#queueConfig };
        for (const [name, queue] of Object.entries(options.queues)) queues[name] = resolveQueueConfig(name, queue);
        change.queues = queues;
      }
      const components = new Map(uploads.map((upload) => [upload.manifest.component.sha256, upload.component]));
      await this.#commit(change, { components, touched: [...names], ...(queues === undefined ? {} : { queues }) });
      for (const result of results.filter((r) => r.changed)) {
        this.#failures.delete(result.function);
        const pool = this.#pools.get(poolKey(result.function, result.to))?.pool;
        this.#hostLog("info", `function ${result.function} version ${result.to} ready${pool === undefined ? "" : ` (${pool.config.minInstances} warm)`}`);
      }
      return { functions: results };
    });
  }

  async updateConfiguration(name: string, patch: ConfigurationPatch, options: { description?: string } = {}): Promise<DeploymentResult> {
    const fn = this.#existing(name);
    const latest = fn.versions.get(fn.record.latest)!;
    // Checked (schema, limits, routes, queues) like any deployment.
    const config = { ...latest.manifest.config, ...patch, entry: latest.manifest.config.entry, style: latest.manifest.config.style } as FunctionConfig;
    const component = await this.#componentBytes(latest.manifest.component.sha256);
    return this.deployApp([{ manifest: { ...latest.manifest, config }, component, origin: "configuration update" }], options);
  }

  async undeploy(name: string): Promise<boolean> {
    const fn = this.#registry.get(name);
    const failed = this.#failures.delete(name);
    if (fn === undefined) {
      if (failed) this.#routes = this.#routeTable(this.#registry);
      return failed;
    }
    await this.#serialized(() => this.#commit({ deleteFunctions: [name] }, { touched: [name] }));
    await this.#store.pruneComponents();
    this.#logStore.drop(name);
    this.#hostLog("info", `function ${name} removed`);
    return true;
  }

  async setAlias(name: string, alias: string, target: { version: number; canary?: { version: number; weight: number }; description?: string }): Promise<AliasStatus> {
    await this.#serialized(() => this.#commit(this.#registry.planAlias(name, alias, target.version, target.canary, target.description, Date.now()), { touched: [name] }));
    return this.function(name)!.aliases.find((a) => a.name === alias)!;
  }

  async deleteAlias(name: string, alias: string): Promise<void> {
    await this.#serialized(() => this.#commit(this.#registry.planDeleteAlias(name, alias, Date.now()), { touched: [name] }));
  }

  async setTraffic(name: string, qualifier: string): Promise<FunctionStatus> {
    await this.#serialized(() => this.#commit(this.#registry.planTraffic(name, qualifier, Date.now()), { touched: [name] }));
    return this.function(name)!;
  }

  async rollback(name: string, options: { to?: number } = {}): Promise<{ qualifier: string; from: number; to: number }> {
    return this.#serialized(async () => {
      const { change, ...outcome } = this.#registry.planRollback(name, options.to, Date.now());
      await this.#commit(change, { touched: [name] });
      this.#hostLog("info", `function ${name}: ${outcome.qualifier} rolled back from version ${outcome.from} to ${outcome.to}`);
      return outcome;
    });
  }

  async deleteVersion(name: string, version: number): Promise<void> {
    await this.#serialized(() => this.#commit(this.#registry.planDeleteVersion(name, version), { touched: [name] }));
    await this.#store.pruneComponents();
  }

  /**
   * Applies a planned change: checked and prepared on a copy of the
   * registry, persisted, then switched to in one synchronous step. Versions
   * nothing points at any more drain afterwards.
   */
  async #commit(change: RegistryChange, context: { touched: string[]; components?: Map<string, Uint8Array>; queues?: Record<string, QueueConfig> }): Promise<void> {
    if (this.#closing) throw new WfnError("WFN_SHUTTING_DOWN");
    const next = this.#registry.clone();
    next.apply(change);
    const queues = context.queues ?? this.#queueConfig;
    this.#check(next, queues);
    for (const name of context.touched) {
      this.#updating.add(name);
      this.#updateFailures.delete(name);
    }
    const created: PoolSlot[] = [];
    // New components go to disk while their versions are prepared (both take a while); the
    // registry that refers to them is saved only once both are done.
    const fresh = [...(context.components ?? [])].filter(([sha256]) => (change.versions ?? []).some((v) => v.manifest.component.sha256 === sha256));
    const stored = Promise.all(fresh.map(([sha256, bytes]) => this.#store.putComponent(sha256, bytes)));
    stored.catch(() => undefined); // awaited below; a failure there fails the deployment
    try {
      // Prepare and warm every version that will be in use, before anything switches.
      for (const name of context.touched) {
        const fn = next.get(name);
        if (fn === undefined) continue;
        for (const number of next.referenced(fn)) {
          const key = poolKey(name, number);
          if (this.#pools.has(key)) continue;
          await this.#poolFor(fn.versions.get(number)!, context.components);
          created.push(this.#pools.get(key)!);
        }
      }
      await stored;
      await this.#store.saveRegistry(change);
    } catch (error) {
      for (const slot of created) {
        this.#pools.delete(poolKey(slot.version.function, slot.version.version));
        void slot.ready.then((pool) => pool.drain(), () => undefined);
      }
      const failure = asWfnError(error, "WFN_INVALID_ARTIFACT");
      for (const name of context.touched) {
        this.#updating.delete(name);
        this.#updateFailures.set(name, failure.message);
      }
      throw failure;
    }
    // The switch: nothing below awaits until routes, registry and queues all agree.
    this.#registry = next;
    if (context.queues !== undefined) this.#setQueues(queues);
    this.#routes = this.#routeTable(next);
    for (const name of context.touched) this.#updating.delete(name);
    for (const name of context.touched) await this.#syncTriggers(name);
    this.#drainUnused(context.touched);
  }

  /** Throws WFN_INVALID_CONFIG when a planned registry would not work: clashing routes, undeclared queues. */
  #check(registry: Registry, queues: Record<string, QueueConfig>): void {
    this.#routeTable(registry);
    const configs = new Map<string, FunctionConfig>();
    for (const fn of registry.functions.values()) configs.set(fn.record.name, registry.trafficVersion(fn).manifest.config);
    const problems = checkAppConfig(configs, queues, this.#maxQueues);
    if (problems.length > 0) {
      throw new WfnError("WFN_INVALID_CONFIG", problems.map((p) => `${p.function === undefined ? "" : `function ${p.function}: `}${p.field}: ${p.message}`).join("; "));
    }
  }

  /** Drains the pools of versions of `names` that nothing points at any more. */
  #drainUnused(names: string[]): void {
    for (const [key, slot] of this.#pools) {
      if (!names.includes(slot.version.function)) continue;
      const fn = this.#registry.get(slot.version.function);
      if (fn !== undefined && this.#registry.referenced(fn).has(slot.version.version) && fn.versions.has(slot.version.version)) continue;
      this.#pools.delete(key);
      void slot.ready.then((pool) => pool.drain(), () => undefined);
    }
  }

  #serialized<T>(work: () => Promise<T>): Promise<T> {
    const run = this.#changes.then(work, work);
    this.#changes = run.catch(() => undefined);
    return run;
  }

  /** The pool of a version, prepared (component compiled, `minInstances` warm) on first use. */
  #poolFor(version: VersionRecord, components?: Map<string, Uint8Array>): Promise<FunctionPool> {
    const key = poolKey(version.function, version.version);
    const existing = this.#pools.get(key);
    if (existing !== undefined) return existing.ready;
    const slot: PoolSlot = { version, pool: undefined, ready: undefined as unknown as Promise<FunctionPool> };
    slot.ready = (async () => {
      const { manifest } = version;
      const bytes = components?.get(manifest.component.sha256) ?? (await this.#componentBytes(manifest.component.sha256));
      const component = await prepareComponent({ manifest, component: bytes, origin: `${version.function} version ${version.version}` }, this.#cacheDir);
      const { config } = manifest;
      const pool = new FunctionPool({
        name: version.function,
        config,
        component,
        scheduler: this.#scheduler,
        instanceSettings: {
          functionName: version.function,
          env: config.style === "lambda" ? lambdaEnvironment(version.function, config, { region: this.region, version: String(version.version) }) : config.env,
          allowedOutboundHosts: config.allowedOutboundHosts,
          logLimitBytes: this.#options.logLimitBytes ?? DEFAULTS.logLimitBytes,
          maxOutboundRequestBytes: this.#options.maxOutboundRequestBytes ?? DEFAULTS.maxOutboundRequestBytes,
          maxOutboundResponseBytes: this.#options.maxOutboundResponseBytes ?? DEFAULTS.maxOutboundResponseBytes,
        },
      });
      try {
        await pool.warm();
      } catch (error) {
        await pool.drain();
        throw error;
      }
      slot.pool = pool;
      return pool;
    })();
    this.#pools.set(key, slot);
    slot.ready.catch(() => {
      if (this.#pools.get(key) === slot) this.#pools.delete(key);
    });
    return slot.ready;
  }

  async #componentBytes(sha256: string): Promise<Uint8Array> {
    const bytes = await this.#store.getComponent(sha256);
    if (bytes === undefined) throw new WfnError("WFN_INVALID_ARTIFACT", `component ${sha256.slice(0, 12)}… is missing from the host's store`);
    return bytes;
  }

  // ---- Invoking ----------------------------------------------------------

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
    const resolved = this.#resolve(name, options.qualifier);
    const { version, executedVersion } = resolved;
    const requestId = options.requestId ?? randomUUID();
    const config = version.manifest.config;
    const trigger: TriggerKind = event.tag;
    const versionLabel = String(version.version);
    let pool: FunctionPool;
    let scheduled;
    try {
      pool = await this.#poolFor(version);
      const context: ContextRecord = {
        requestId,
        functionName: name,
        functionVersion: executedVersion,
        invokedFunctionArn: this.arn(name, options.qualifier),
        memoryLimitMb: config.memoryMB,
        deadlineMs: 0n, // set by the scheduler when the invocation starts
        clientContext: options.clientContext,
      };
      scheduled = await pool.invoke(event, context);
    } catch (error) {
      const failure = asWfnError(error);
      if (failure.code === "WFN_THROTTLED") this.#observe({ function: name, version: versionLabel, trigger, status: "throttled", durationMs: 0, coldStart: false });
      if (failure.code === "WFN_INVALID_ARTIFACT") throw new WfnError("WFN_FUNCTION_UNAVAILABLE", `function ${name} is not available: ${failure.message}`, { cause: failure });
      throw error;
    }
    const log = new InvocationLog(this.#log, { function: name, version: executedVersion, requestId });
    const facts = { requestId, functionName: name, functionVersion: executedVersion, coldStart: scheduled.coldStart, initMs: scheduled.initMs };
    const report = { memorySizeMB: config.memoryMB, initMs: scheduled.initMs };
    const summary = { function: name, version: versionLabel, trigger, coldStart: scheduled.coldStart, ...(scheduled.initMs === undefined ? {} : { initMs: scheduled.initMs }) };
    if (scheduled.status === "timeout") {
      const error = new WfnError("WFN_TIMED_OUT", `RequestId: ${requestId} Error: Task timed out after ${(scheduled.elapsedMs / 1000).toFixed(2)} seconds`);
      log.host("error", error.message);
      log.finish({ ...report, durationMs: scheduled.elapsedMs, memoryUsedBytes: undefined, timedOut: true });
      this.#observe({ ...summary, status: "failed", errorType: error.lambdaType, durationMs: scheduled.elapsedMs });
      return withLazyLog({ ...facts, durationMs: scheduled.elapsedMs, status: "failed", error, log: "" }, log);
    }
    const call = scheduled.result;
    log.guest(call.logs);
    const done = { ...facts, durationMs: call.durationMs };
    let result: InvocationResult;
    switch (call.status) {
      case "ok": {
        const size = outcomeBytes(call.outcome);
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
    withLazyLog(result, log);
    this.#observe({
      ...summary,
      status: result.status,
      durationMs: call.durationMs,
      ...(result.status === "error" ? { errorType: result.error.errorType } : result.status === "failed" ? { errorType: result.error.lambdaType } : {}),
    });
    return result;
  }

  // ---- Status ------------------------------------------------------------

  functions(): FunctionStatus[] {
    const names = new Set([...this.#registry.functions.keys(), ...this.#failures.keys()]);
    return [...names].sort((a, b) => a.localeCompare(b)).map((name) => this.function(name)!);
  }

  function(name: string): FunctionStatus | undefined {
    const fn = this.#registry.get(name);
    const failure = this.#failures.get(name);
    if (fn === undefined && failure === undefined) {
      if (!this.#updating.has(name)) return undefined;
      return { name, state: "Pending", lastUpdateStatus: "InProgress", traffic: LATEST, routes: [], aliases: [], instances: { total: 0, idle: 0, busy: 0, starting: 0 } };
    }
    const updateFailure = this.#updateFailures.get(name);
    const update = this.#updating.has(name)
      ? { lastUpdateStatus: "InProgress" as const }
      : updateFailure !== undefined || (fn !== undefined && failure !== undefined)
        ? { lastUpdateStatus: "Failed" as const, lastUpdateStatusReason: updateFailure ?? failure!.error.message }
        : { lastUpdateStatus: "Successful" as const };
    if (fn === undefined) {
      return { name, state: "Failed", stateReason: failure!.error.message, ...update, traffic: LATEST, routes: [...failure!.routes], aliases: [], instances: { total: 0, idle: 0, busy: 0, starting: 0 } };
    }
    const serving = this.#registry.trafficVersion(fn);
    return {
      name,
      state: "Active",
      ...update,
      latestVersion: fn.record.latest,
      traffic: fn.record.traffic,
      routes: [...serving.manifest.config.routes],
      sha256: serving.manifest.component.sha256,
      config: serving.manifest.config,
      aliases: [...fn.aliases.values()].map(
        (alias): AliasStatus => ({
          name: alias.name,
          version: alias.version,
          ...(alias.routing === undefined ? {} : { canary: { ...alias.routing } }),
          ...(alias.description === undefined ? {} : { description: alias.description }),
        }),
      ),
      instances: this.#instances(name),
    };
  }

  versions(name: string): VersionStatus[] {
    const fn = this.#existing(name);
    return [...fn.versions.values()].map((version) => ({
      version: version.version,
      sha256: version.manifest.component.sha256,
      createdAt: new Date(version.createdAt).toISOString(),
      ...(version.description === undefined ? {} : { description: version.description }),
      config: version.manifest.config,
      qualifiers: [
        ...(fn.record.latest === version.version ? [LATEST] : []),
        ...[...fn.aliases.values()].filter((a) => a.version === version.version || a.routing?.version === version.version).map((a) => a.name),
      ],
      instances: this.#instances(name, version.version),
    }));
  }

  /** Every pool's instances, for metrics. */
  #poolSnapshots(): PoolSnapshot[] {
    const snapshots: PoolSnapshot[] = [];
    for (const slot of this.#pools.values()) {
      const stats = slot.pool?.stats;
      if (stats === undefined) continue;
      snapshots.push({ function: slot.version.function, version: String(slot.version.version), busy: stats.busy, idle: stats.idle, waiting: stats.waiting });
    }
    return snapshots;
  }

  close(): Promise<void> {
    this.#closing ??= (async () => {
      this.#schedules.close();
      await this.#queues.close();
      await this.#async.close();
      await this.#changes;
      await Promise.all([...this.#pools.values()].map((slot) => slot.ready.then((pool) => pool.drain(), () => undefined)));
      await this.#scheduler.close();
      await this.#store.close();
    })();
    return this.#closing;
  }

  // ---- Internals ---------------------------------------------------------

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
      trafficQualifier: (name) => this.#trafficOptions(name).qualifier,
      acceptAsync: (name, event, requestId, qualifier) => {
        if (this.#closing) throw new WfnError("WFN_SHUTTING_DOWN");
        return this.#async.accept(name, event, requestId, qualifier);
      },
      queues: this.#queues,
      schedules: this.#schedules,
      asyncPending: () => this.#async.pending(),
      asyncFailures: (name, limit) => this.#store.listAsyncFailures(name, limit),
      requiresKey: (name, qualifier) => this.#registry.designated(name, qualifier)?.some((version) => version.manifest.config.auth === "key"),
      access: {
        keys: { admin: this.#options.adminKeys ?? [], invoke: this.#options.invokeKeys ?? [] },
        trustUnauthenticated: this.#options.admin?.trustUnauthenticated === true,
        trustProxy: this.#options.trustProxy === true,
      },
      metrics: this.#metrics,
      logs: this.#logStore,
      admin: this,
      maxUploadBytes: this.#options.maxUploadBytes ?? DEFAULTS.maxUploadBytes,
      maxUploadFunctions: this.#options.maxUploadFunctions ?? DEFAULTS.maxUploadFunctions,
      uploadDir: this.#uploadDir,
      storageTrigger: (name) => this.#registry.trafficConfig(name)?.storage,
    };
  }

  /** Routed traffic (HTTP, queues, schedules, storage) goes to the function's traffic qualifier. */
  #trafficOptions(name: string): { qualifier?: string } {
    const traffic = this.#registry.get(name)?.record.traffic;
    return traffic === undefined || traffic === LATEST ? {} : { qualifier: traffic };
  }

  /** The function's queue and schedule follow the version serving its traffic. */
  async #syncTriggers(name: string): Promise<void> {
    const config = this.#registry.trafficConfig(name);
    if (config?.auth === "key" && (this.#options.adminKeys ?? []).length + (this.#options.invokeKeys ?? []).length === 0) {
      this.#hostLog("warn", `function ${name} has "auth": "key" but this host has no invoke or admin keys, so every invocation of it is refused (start the host with --invoke-key)`);
    }
    this.#queues.subscribe(name, config?.queue, config?.maxConcurrency ?? 0);
    try {
      await this.#schedules.set(name, config?.schedule);
    } catch (error) {
      this.#hostLog("error", `function ${name}: ${(error as Error).message}`);
    }
  }

  /** Where uploads are written while they arrive: beside the store when there is one (a tmpfs /tmp would hold them in memory). */
  get #uploadDir(): string {
    return this.#options.dataDir === undefined ? tmpdir() : join(this.#options.dataDir, "uploads");
  }

  get #maxQueues(): number {
    return this.#options.maxQueues ?? DEFAULTS.maxQueues;
  }

  #setQueues(queues: Record<string, QueueConfig>): void {
    this.#queueConfig = queues;
    this.#queues.configure(queues);
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

  /** The version a name and qualifier designate, or a clear error. */
  #resolve(name: string, qualifier: string | undefined) {
    if (this.#registry.get(name) === undefined) {
      const failure = this.#failures.get(name);
      if (failure !== undefined) throw new WfnError("WFN_FUNCTION_UNAVAILABLE", `function ${name} is not available: ${failure.error.message}`);
      if (this.#updating.has(name)) throw new WfnError("WFN_FUNCTION_UNAVAILABLE", `function ${name} is being deployed`);
      throw new WfnError("WFN_FUNCTION_NOT_FOUND", `Function not found: ${this.arn(name, qualifier ?? LATEST)}`);
    }
    try {
      return this.#registry.resolve(name, qualifier);
    } catch (error) {
      if (error instanceof WfnError && error.code === "WFN_FUNCTION_NOT_FOUND") {
        throw new WfnError("WFN_FUNCTION_NOT_FOUND", `Function not found: ${this.arn(name, qualifier ?? LATEST)}`);
      }
      throw error;
    }
  }

  #existing(name: string): DeployedFunction {
    const fn = this.#registry.get(name);
    if (fn === undefined) throw new WfnError("WFN_FUNCTION_NOT_FOUND", `Function not found: ${this.arn(name)}`);
    return fn;
  }

  #instances(name: string, version?: number): InstanceCounts {
    const totals = { total: 0, idle: 0, busy: 0, starting: 0 };
    for (const slot of this.#pools.values()) {
      if (slot.version.function !== name || (version !== undefined && slot.version.version !== version)) continue;
      const stats = slot.pool?.stats;
      if (stats === undefined) continue;
      totals.total += stats.instances;
      totals.idle += stats.idle;
      totals.starting += stats.starting;
      totals.busy += stats.busy;
    }
    return totals;
  }

  /**
   * Routes of working functions (their traffic version's) must not clash
   * (that throws). Routes of functions that failed to load stay mapped where
   * they do not clash, so callers get a clear 503 rather than a 404.
   */
  #routeTable(registry: Registry): RouteTable {
    const routed = [...registry.functions.values()].map((fn) => ({ name: fn.record.name, routes: registry.trafficVersion(fn).manifest.config.routes }));
    let table = new RouteTable(routed);
    for (const [name, failure] of this.#failures) {
      if (registry.get(name) !== undefined) continue;
      try {
        table = new RouteTable([...routed, { name, routes: failure.routes }]);
        routed.push({ name, routes: failure.routes });
      } catch {
        // Clashes with a working function: the failed one keeps no routes.
      }
    }
    return table;
  }

  #observe(summary: InvocationSummary): void {
    try {
      this.#metrics.invocation(summary);
    } catch (error) {
      this.#hostLog("error", `metrics: ${(error as Error).message}`);
    }
  }

  #hostLog(level: "info" | "warn" | "error", message: string, requestId?: string): void {
    this.#log({ time: Date.now(), level, message, source: "host", ...(requestId === undefined ? {} : { requestId }) });
  }
}

/** The invocation's Lambda-format log text is only built if someone reads it (the Invoke API's `LogType: Tail`). */
function withLazyLog(result: InvocationResult, log: InvocationLog): InvocationResult {
  let text: string | undefined;
  Object.defineProperty(result, "log", { enumerable: true, configurable: true, get: () => (text ??= log.text()) });
  return result;
}

/** The size of a result as the 6 MiB limit counts it: the body, and an HTTP response's header names and values. */
function outcomeBytes(outcome: OutcomeValue): number {
  if (outcome.tag === "payload") return outcome.val.byteLength;
  let size = outcome.val.body.byteLength;
  for (const [name, value] of outcome.val.headers) size += Buffer.byteLength(name) + Buffer.byteLength(value) + 4;
  return size;
}

/** Components prepared at once when a host starts. */
const PREPARE_CONCURRENCY = 4;

function passesChecks(artifact: Artifact): boolean {
  try {
    checkArtifact(artifact);
    return true;
  } catch {
    return false;
  }
}

function poolKey(name: string, version: number): string {
  return `${name}@${version}`;
}
