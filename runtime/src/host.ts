// createHost(): the composition root. It resolves the options once
// (./settings.ts), builds the rooms — deployments, pools, the invoker, the
// triggers, the status read model — wires them together through narrow
// ports and mounts the HTTP surface (./app.ts); the Host methods delegate.
// docs/architecture.md walks through the rooms and the path of a request.
import { join } from "node:path";
import { Hono } from "hono";
import type { EventValue } from "@wfn/sdk/abi";
import { hostRoutes, mountRoutes, type HostEnv } from "./app.js";
import { hostCalls, type HostCalls } from "./capabilities/host-calls.js";
import { readArtifact, prepareValidators, type Artifact } from "./artifact/load.js";
import { ACCOUNT_ID } from "./config/lambda-env.js";
import { Deployments } from "./deploy/deployments.js";
import { loadAtStartup } from "./deploy/startup.js";
import { Status } from "./deploy/status.js";
import type { AliasStatus, ConfigurationPatch, DeploymentResult, DeployOptions, FunctionStatus, Host, HostOptions, HostQueues, InvokeOptions, VersionStatus } from "./host-types.js";
import type { InvocationResult } from "./invocation.js";
import { Invoker } from "./invoke/invoker.js";
import { hostLogger, textSink, type LogSink } from "./observe/log.js";
import { LogStore } from "./observe/log-store.js";
import { Metrics } from "./observe/metrics.js";
import { Pools } from "./pool/pools.js";
import type { ListenSettings } from "./pool/protocol.js";
import { ACCEPT_IN_EXECUTORS, STOP_ACCEPTING } from "./accept.js";
import { hostSettings, type HostSettings } from "./settings.js";
import { cachedComponent } from "./store/component-cache.js";
import { openStore } from "./store/open.js";
import type { Store } from "./store/store.js";
import { Triggers } from "./triggers/triggers.js";

/** Starts a host. Bad artifacts do not stop it: they are reported as failed functions. */
export async function createHost(options: HostOptions = {}): Promise<Host> {
  const store = await openStore(options.store, options.dataDir);
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
  readonly #settings: HostSettings;
  readonly #store: Store;
  /** The host's own lines (not an invocation's), to the same sink as every record. */
  readonly #hostLog: ReturnType<typeof hostLogger>;
  readonly #logStore = new LogStore();
  readonly #pools: Pools;
  readonly #deployments: Deployments;
  readonly #status: Status;
  readonly #invoker: Invoker;
  readonly #triggers: Triggers;
  readonly #metrics: Metrics;
  readonly #hostCalls: HostCalls;
  #closing: Promise<void> | undefined;

  constructor(options: HostOptions, store: Store) {
    const settings = (this.#settings = hostSettings(options));
    this.#store = store;
    this.region = settings.region;
    const sink = options.log ?? textSink();
    const log: LogSink = (record) => {
      this.#logStore.append(record);
      sink(record);
    };
    const hostLog = (this.#hostLog = hostLogger(log));
    // The ports below read the host's state when they are called, not now.
    const closing = () => this.#closing !== undefined;
    const componentBytes = (sha256: string) => this.#deployments.componentBytes(sha256);
    this.#pools = new Pools({
      settings,
      componentBytes,
      hostCalls: (request, caller) => this.#hostCalls.handle(request, caller),
      log: hostLog,
      onRecords: (records, invocations) => {
        for (const record of records) log(record);
        for (const summary of invocations) this.#metrics.invocation(summary);
      },
    });
    this.#deployments = new Deployments({
      store,
      // A store other hosts share is across a network: what this host fetched from it stays on its disk.
      ...(store.followRegistry === undefined ? {} : { componentCache: (sha256, fetch) => cachedComponent(join(settings.cacheDir, "components"), sha256, fetch) }),
      pools: this.#pools,
      maxQueues: settings.maxQueues,
      hasKeys: settings.access.keys.admin.length + settings.access.keys.invoke.length > 0,
      arn: (name, qualifier) => this.arn(name, qualifier),
      log: hostLog,
      closing,
      onQueues: (queues) => this.#triggers.queues.configure(queues),
      onSwitched: (name, config) => this.#triggers.sync(name, config),
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
    this.#hostCalls = hostCalls({ store, settings, log, queues: this.#triggers.queues });
    this.#metrics = new Metrics({
      pools: () => this.#pools.snapshots(),
      queues: () => this.#triggers.queueSnapshots(),
      asyncPending: () => this.#triggers.async.pending(),
      prepared: () => this.#pools.held(),
      onSourceError: (source, error) => hostLog("error", `metrics: reading ${source} failed: ${(error as Error).message}`),
    });
    this.#invoker = new Invoker({
      settings,
      resolve: (name, qualifier, draw) => this.#deployments.resolve(name, qualifier, draw),
      pool: (version) => this.#pools.get(version),
      arn: (name, qualifier) => this.arn(name, qualifier),
      log,
      observe: (summary) => this.#metrics.invocation(summary),
      acceptAsync: (name, event, requestId, qualifier) => this.#triggers.async.accept(name, event, requestId, qualifier),
      closing,
    });
    const rooms = { settings, deployments: this.#deployments, triggers: this.#triggers, store, host: this, metrics: this.#metrics, logs: this.#logStore, log, closing };
    mountRoutes(this.app, hostRoutes(rooms));
  }

  async start(): Promise<void> {
    // Before any schedule fires: claims left in the store belong to a host that is gone.
    await this.#triggers.recover();
    await loadAtStartup(this.#settings.startup, { deployments: this.#deployments, pools: this.#pools, store: this.#store, cacheDir: this.#settings.cacheDir, log: this.#hostLog });
    this.#triggers.start();
    // On a shared store, what other hosts deploy from now on (what they deployed before is loaded).
    this.#deployments.follow();
    // Ready for the first deployment (compiling the validators is ~100 ms), without delaying start-up.
    setImmediate(prepareValidators).unref();
  }

  fetch = async (request: Request, env?: unknown): Promise<Response> => this.app.fetch(request, env);

  /** serve(): executors accept the connections (pool/README.md, "The data plane"); resolves with the port. */
  [ACCEPT_IN_EXECUTORS](listen: Pick<ListenSettings, "port" | "hostname" | "mainPort" | "secret" | "connections" | "maxConnections" | "maxConnectionsPerClient">): Promise<number> {
    const { access, maxRequestBytes, maxResponseBytes, maxUploadBytes, maxQueueLength, maxQueueWaitMs } = this.#settings;
    return this.#pools.listen({ ...listen, maxRequestBytes, maxResponseBytes, maxUploadBytes, trustProxy: access.trustProxy, keys: access.keys, maxQueueLength, maxQueueWaitMs });
  }

  [STOP_ACCEPTING](): void {
    this.#pools.unlisten();
  }

  /** `arn:aws:lambda:<region>:<account>:function:<name>[:<qualifier>]` */
  arn(name: string, qualifier?: string): string {
    return `arn:aws:lambda:${this.region}:${ACCOUNT_ID}:function:${name}${qualifier === undefined ? "" : `:${qualifier}`}`;
  }

  get queues(): HostQueues { return this.#triggers.hostQueues(); }

  // ---- Deploying: the deployments room ----------------------------------

  async deploy(source: Artifact | string, options: DeployOptions = {}): Promise<FunctionStatus> {
    const artifact = typeof source === "string" ? await readArtifact(source) : source;
    await this.#deployments.deployApp([artifact], options);
    return this.function(artifact.manifest.name)!;
  }

  deployApp(sources: Array<Artifact | string>, options?: DeployOptions): Promise<DeploymentResult> { return this.#deployments.deployApp(sources, options); }

  updateConfiguration(name: string, patch: ConfigurationPatch, options?: { description?: string }): Promise<DeploymentResult> { return this.#deployments.updateConfiguration(name, patch, options); }

  async undeploy(name: string): Promise<boolean> {
    const removed = await this.#deployments.undeploy(name);
    if (removed) this.#logStore.drop(name);
    return removed;
  }

  async setAlias(name: string, alias: string, target: { version: number; canary?: { version: number; weight: number }; description?: string }): Promise<AliasStatus> {
    await this.#deployments.setAlias(name, alias, target);
    return this.function(name)!.aliases.find((a) => a.name === alias)!;
  }

  deleteAlias(name: string, alias: string): Promise<void> { return this.#deployments.deleteAlias(name, alias); }

  async setTraffic(name: string, qualifier: string): Promise<FunctionStatus> {
    await this.#deployments.setTraffic(name, qualifier);
    return this.function(name)!;
  }

  rollback(name: string, options?: { to?: number }): Promise<{ qualifier: string; from: number; to: number }> { return this.#deployments.rollback(name, options); }

  deleteVersion(name: string, version: number): Promise<void> { return this.#deployments.deleteVersion(name, version); }

  // ---- Invoking: the invoker --------------------------------------------

  invoke(name: string, payload?: unknown, options?: InvokeOptions & { async?: false }): Promise<InvocationResult>;
  invoke(name: string, payload: unknown, options: InvokeOptions & { async: true }): Promise<{ requestId: string }>;
  invoke(name: string, payload: unknown = null, options: InvokeOptions & { async?: boolean } = {}): Promise<InvocationResult | { requestId: string }> {
    const { async, ...rest } = options;
    return async === true ? this.#invoker.invokeAsync(name, payload, rest) : this.#invoker.invoke(name, payload, rest);
  }

  invokeAsync(name: string, payload: unknown = null, options: Pick<InvokeOptions, "qualifier" | "requestId"> = {}): Promise<{ requestId: string }> { return this.#invoker.invokeAsync(name, payload, options); }

  dispatch(name: string, event: EventValue, options?: InvokeOptions): Promise<InvocationResult> { return this.#invoker.dispatch(name, event, options); }

  // ---- Status: the read model --------------------------------------------

  functions(): FunctionStatus[] { return this.#status.functions(); }

  function(name: string): FunctionStatus | undefined { return this.#status.function(name); }

  versions(name: string): VersionStatus[] { return this.#status.versions(name); }

  close(): Promise<void> {
    this.#closing ??= (async () => {
      this.#deployments.unfollow();
      await this.#triggers.close();
      await this.#deployments.settled();
      await this.#pools.close();
      this.#hostCalls.close();
      await this.#store.close();
    })();
    return this.#closing;
  }
}
