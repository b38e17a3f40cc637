// createHost(): the composition root. It resolves the options once
// (./settings.ts), builds the rooms — deployments (deploy/deployments.ts),
// pools (pool/pools.ts), the invoker (invoke/invoker.ts), the triggers
// (triggers/triggers.ts), the status read model (deploy/status.ts) — wires
// them to each other through narrow ports, and mounts the HTTP surface
// (./app.ts). The Host methods below only delegate. docs/architecture.md
// walks through the rooms and the path of a request.
import { Hono } from "hono";
import type { EventValue } from "@wfn/sdk/abi";
import { mountRoutes, type HostEnv } from "./app.js";
import { invokeDenied } from "./api/auth.js";
import { readArtifact, prepareValidators, type Artifact } from "./artifact/load.js";
import { ACCOUNT_ID, lambdaEnvironment } from "./config/lambda-env.js";
import { Deployments } from "./deploy/deployments.js";
import { Status } from "./deploy/status.js";
import { WfnError } from "./errors.js";
import { DEFAULT_MAX_REQUEST_BYTES, type AliasStatus, type ConfigurationPatch, type DeploymentResult, type DeployOptions, type FunctionStatus, type Host, type HostOptions, type HostQueues, type InvokeOptions, type VersionStatus } from "./host-types.js";
import type { InvocationResult } from "./invocation.js";
import { Invoker } from "./invoke/invoker.js";
import { textSink, type LogLevel, type LogSink } from "./observe/log.js";
import { LogStore } from "./observe/log-store.js";
import { Metrics } from "./observe/metrics.js";
import { Pools } from "./pool/pools.js";
import { Scheduler } from "./pool/scheduler.js";
import { hostSettings, type HostSettings } from "./settings.js";
import { openSqliteStore } from "./store/sqlite.js";
import type { Store } from "./store/store.js";
import { Triggers } from "./triggers/triggers.js";

export { DEFAULT_MAX_REQUEST_BYTES };
export type { FunctionStatus, Host, HostOptions, HostQueues, InvokeOptions };

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
  readonly region: string;
  readonly #options: HostOptions;
  readonly #settings: HostSettings;
  readonly #store: Store;
  readonly #log: LogSink;
  readonly #logStore = new LogStore();
  readonly #pools: Pools;
  readonly #deployments: Deployments;
  readonly #status: Status;
  readonly #invoker: Invoker;
  readonly #triggers: Triggers;
  readonly #metrics: Metrics;
  #closing: Promise<void> | undefined;

  constructor(options: HostOptions, store: Store) {
    const settings = (this.#settings = hostSettings(options));
    this.#options = options;
    this.#store = store;
    this.region = settings.region;
    const sink = options.log ?? textSink();
    const log: LogSink = (this.#log = (record) => {
      this.#logStore.append(record);
      sink(record);
    });
    const host = this; // the ports below read the host's state when they are called, not now
    const scheduler = new Scheduler({
      ...settings,
      hostCalls: (request) => this.#triggers.hostCall(request),
      onEvent: (event) => {
        if (event.kind === "executor-lost") this.#hostLog("warn", `executor ${event.index} stopped (${event.reason}); replaced it, ${event.instancesLost} instance(s) lost and re-warmed`);
      },
    });
    this.#pools = new Pools({
      scheduler,
      cacheDir: settings.cacheDir,
      componentBytes: (sha256) => this.#deployments.componentBytes(sha256),
      instanceSettings: ({ function: name, version, manifest: { config } }) => ({
        functionName: name,
        env: config.style === "lambda" ? lambdaEnvironment(name, config, { region: this.region, version: String(version) }) : config.env,
        allowedOutboundHosts: config.allowedOutboundHosts,
        logLimitBytes: settings.logLimitBytes,
        maxOutboundRequestBytes: settings.maxOutboundRequestBytes,
        maxOutboundResponseBytes: settings.maxOutboundResponseBytes,
      }),
    });
    this.#deployments = new Deployments({
      store,
      pools: this.#pools,
      cacheDir: settings.cacheDir,
      maxQueues: settings.maxQueues,
      arn: (name, qualifier) => this.arn(name, qualifier),
      log: (level, message) => this.#hostLog(level, message),
      get closing() {
        return host.#closing !== undefined;
      },
      onQueues: (queues) => this.#triggers.queues.configure(queues),
      onSwitched: (name, config) => {
        if (config?.auth === "key" && settings.access.keys.admin.length + settings.access.keys.invoke.length === 0) {
          this.#hostLog("warn", `function ${name} has "auth": "key" but this host has no invoke or admin keys, so every invocation of it is refused (start the host with --invoke-key)`);
        }
        return this.#triggers.sync(name, config);
      },
    });
    this.#status = new Status(this.#deployments, this.#pools);
    this.#triggers = new Triggers({
      store,
      log,
      settings,
      dispatch: (name, event, invokeOptions) => this.dispatch(name, event, invokeOptions),
      trafficQualifier: (name) => this.#deployments.trafficQualifier(name),
      trafficConfig: (name) => this.#deployments.registry.trafficConfig(name),
      arn: (name, qualifier) => this.arn(name, qualifier),
      onAsyncAttempt: (name, ageMs) => this.#metrics.asyncAttempt(name, ageMs),
    });
    this.#metrics = new Metrics({
      pools: () => this.#pools.snapshots(),
      queues: async () => (await this.#triggers.queues.stats()).map((q) => ({ queue: q.name, visible: q.visible, inFlight: q.inFlight, deadLettered: q.deadLettered })),
      asyncPending: () => this.#triggers.async.pending(),
      onSourceError: (source, error) => this.#hostLog("error", `metrics: reading ${source} failed: ${(error as Error).message}`),
    });
    this.#invoker = new Invoker({
      settings,
      resolve: (name, qualifier) => this.#deployments.resolve(name, qualifier),
      pool: (version) => this.#pools.get(version),
      arn: (name, qualifier) => this.arn(name, qualifier),
      log,
      observe: (summary) => {
        try {
          this.#metrics.invocation(summary);
        } catch (error) {
          this.#hostLog("error", `metrics: ${(error as Error).message}`);
        }
      },
      acceptAsync: (name, event, requestId, qualifier) => this.#triggers.async.accept(name, event, requestId, qualifier),
      get closing() {
        return host.#closing !== undefined;
      },
    });
    this.#mountRoutes();
  }

  async start(): Promise<void> {
    // Before any schedule fires: claims left in the store belong to a host that is gone.
    await this.#triggers.recover();
    await this.#deployments.load({
      dirs: this.#options.dir === undefined ? [] : ([] as string[]).concat(this.#options.dir),
      functions: this.#options.functions ?? [],
      queues: this.#options.queues ?? {},
      uploadDir: this.#options.dataDir === undefined ? undefined : this.#settings.uploadDir,
    });
    this.#triggers.start();
    // Ready for the first deployment (compiling the validators is ~100 ms), without delaying start-up.
    setImmediate(prepareValidators).unref();
  }

  fetch = async (request: Request, env?: unknown): Promise<Response> => this.app.fetch(request, env);

  /** `arn:aws:lambda:<region>:<account>:function:<name>[:<qualifier>]` */
  arn(name: string, qualifier?: string): string {
    return `arn:aws:lambda:${this.region}:${ACCOUNT_ID}:function:${name}${qualifier === undefined ? "" : `:${qualifier}`}`;
  }

  get queues(): HostQueues {
    const { queues } = this.#triggers;
    return {
      send: async (queue, body, attributes, options) => (await queues.send(queue, [{ body, ...(attributes === undefined ? {} : { attributes }), ...(options ?? {}) }]))[0]!,
      stats: () => queues.stats(),
      peek: (queue, limit) => queues.peek(queue, limit),
      deadLetters: (queue, limit) => queues.deadLetters(queue, limit),
      redrive: (queue) => queues.redrive(queue),
    };
  }

  // ---- Deploying: the deployments room ----------------------------------

  async deploy(source: Artifact | string, options: DeployOptions = {}): Promise<FunctionStatus> {
    const artifact = typeof source === "string" ? await readArtifact(source) : source;
    await this.#deployments.deployApp([artifact], options);
    return this.function(artifact.manifest.name)!;
  }

  deployApp(sources: Array<Artifact | string>, options?: DeployOptions): Promise<DeploymentResult> {
    return this.#deployments.deployApp(sources, options);
  }

  updateConfiguration(name: string, patch: ConfigurationPatch, options?: { description?: string }): Promise<DeploymentResult> {
    return this.#deployments.updateConfiguration(name, patch, options);
  }

  async undeploy(name: string): Promise<boolean> {
    const removed = await this.#deployments.undeploy(name);
    if (removed) this.#logStore.drop(name);
    return removed;
  }

  async setAlias(name: string, alias: string, target: { version: number; canary?: { version: number; weight: number }; description?: string }): Promise<AliasStatus> {
    await this.#deployments.setAlias(name, alias, target);
    return this.function(name)!.aliases.find((a) => a.name === alias)!;
  }

  deleteAlias(name: string, alias: string): Promise<void> {
    return this.#deployments.deleteAlias(name, alias);
  }

  async setTraffic(name: string, qualifier: string): Promise<FunctionStatus> {
    await this.#deployments.setTraffic(name, qualifier);
    return this.function(name)!;
  }

  rollback(name: string, options?: { to?: number }): Promise<{ qualifier: string; from: number; to: number }> {
    return this.#deployments.rollback(name, options);
  }

  deleteVersion(name: string, version: number): Promise<void> {
    return this.#deployments.deleteVersion(name, version);
  }

  // ---- Invoking: the invoker --------------------------------------------

  invoke(name: string, payload?: unknown, options?: InvokeOptions & { async?: false }): Promise<InvocationResult>;
  invoke(name: string, payload: unknown, options: InvokeOptions & { async: true }): Promise<{ requestId: string }>;
  invoke(name: string, payload: unknown = null, options: InvokeOptions & { async?: boolean } = {}): Promise<InvocationResult | { requestId: string }> {
    const { async, ...rest } = options;
    return async === true ? this.#invoker.invokeAsync(name, payload, rest) : this.#invoker.invoke(name, payload, rest);
  }

  invokeAsync(name: string, payload: unknown = null, options: Pick<InvokeOptions, "qualifier" | "requestId"> = {}): Promise<{ requestId: string }> {
    return this.#invoker.invokeAsync(name, payload, options);
  }

  dispatch(name: string, event: EventValue, options?: InvokeOptions): Promise<InvocationResult> {
    return this.#invoker.dispatch(name, event, options);
  }

  // ---- Status: the read model --------------------------------------------

  functions(): FunctionStatus[] {
    return this.#status.functions();
  }

  function(name: string): FunctionStatus | undefined {
    return this.#status.function(name);
  }

  versions(name: string): VersionStatus[] {
    return this.#status.versions(name);
  }

  close(): Promise<void> {
    this.#closing ??= (async () => {
      await this.#triggers.close();
      await this.#deployments.settled();
      await this.#pools.close();
      await this.#store.close();
    })();
    return this.#closing;
  }

  #mountRoutes(): void {
    const settings = this.#settings;
    const deployments = this.#deployments;
    const triggers = this.#triggers;
    const host = this;
    const closing = () => this.#closing !== undefined;
    const requiresKey = (name: string, qualifier: string | undefined) => deployments.requiresKey(name, qualifier);
    const acceptAsync = (name: string, event: EventValue, requestId: string, qualifier?: string) => {
      if (closing()) throw new WfnError("WFN_SHUTTING_DOWN");
      return triggers.async.accept(name, event, requestId, qualifier);
    };
    mountRoutes(this.app, {
      access: settings.access,
      health: () => ({ closing: closing(), functions: this.functions().length }),
      functions: () => this.functions(),
      operations: {
        queues: triggers.queues,
        schedules: triggers.schedules,
        asyncFailures: (name, limit) => this.#store.listAsyncFailures(name, limit),
        asyncPending: () => triggers.async.pending(),
        storageTrigger: (name) => deployments.registry.trafficConfig(name)?.storage,
        acceptAsync,
        trafficQualifier: (name) => deployments.trafficQualifier(name),
        maxAsyncPayloadBytes: settings.maxAsyncPayloadBytes,
        log: this.#log,
      },
      admin: { admin: this, metrics: this.#metrics, logs: this.#logStore, maxUploadBytes: settings.maxUploadBytes, maxUploadFunctions: settings.maxUploadFunctions, uploadDir: settings.uploadDir },
      lambda: {
        dispatchInvoke: (name, payload, { requestId, qualifier, clientContext }) =>
          this.dispatch(name, { tag: "invoke", val: { payload } }, { requestId, ...(qualifier === undefined ? {} : { qualifier }), ...(clientContext === undefined ? {} : { clientContext }) }),
        resolve: (name, qualifier) => void deployments.resolve(name, qualifier),
        authorize: (c, name, qualifier) => invokeDenied(c, settings.access.keys, name, requiresKey(name, qualifier)),
        invokeAsync: (name, payload, requestId, qualifier) => acceptAsync(name, { tag: "invoke", val: { payload } }, requestId, qualifier),
        maxRequestBytes: settings.maxRequestBytes,
        maxAsyncPayloadBytes: settings.maxAsyncPayloadBytes,
      },
      http: {
        get closing() {
          return closing();
        },
        access: settings.access,
        maxRequestBytes: settings.maxRequestBytes,
        log: this.#log,
        routes: () => deployments.routes,
        trafficQualifier: (name) => deployments.trafficQualifier(name),
        requiresKey,
        dispatch: (name, event, invokeOptions) => host.dispatch(name, event, invokeOptions),
      },
    });
  }

  #hostLog(level: LogLevel, message: string): void {
    this.#log({ time: Date.now(), level, message, source: "host" });
  }
}
