// The deploy control plane: what is deployed (the registry), what failed to
// load, the route table, and every change to them — deploys, configuration
// updates, aliases, traffic, rollbacks, removals — one at a time. A change
// is planned on a copy of the registry, checked, prepared (its versions'
// pools warm), persisted, and only then switched to in one synchronous
// step; `onSwitched` then lets the triggers follow and old pools drain.
// On a store many hosts share, a change is made under the fleet's lock on
// what is persisted, after catching up with it, and the changes other hosts
// make are followed the same way: prepared, then switched to (`follow`).
// What a host loads when it starts is in ./startup.ts.
import { isDeepStrictEqual } from "node:util";
import { checkArtifact, readArtifact, type Artifact } from "../artifact/load.js";
import { checkAppConfig, checkQueues, resolveFunctionConfig, resolveQueueConfig, type FunctionConfig, type QueueConfig } from "../config/function-config.js";
import { asWfnError, WfnError } from "../errors.js";
import type { ConfigurationPatch, DeploymentResult, DeployOptions } from "../host-types.js";
import type { LogLevel } from "../observe/log.js";
import type { Pools } from "../pool/pools.js";
import type { RegistryChange, RegistrySnapshot, Store, VersionRecord } from "../store/store.js";
import type { RoutedTarget, RoutedVersion, RoutingSnapshot } from "../pool/protocol.js";
import { RouteTable } from "../triggers/routes.js";
import { LATEST, Registry, type DeployedFunction, type Resolved, type Upload } from "./registry.js";

/** A function that could not be loaded, and why. */
export interface LoadFailure {
  error: WfnError;
  /** Routes it would have served (from its manifest, when readable): they answer 503 rather than 404. */
  routes: string[];
}

/** What the deploy control plane needs from the rest of the host. */
export interface DeploymentsPort {
  store: Store;
  /** Keeps the components fetched from a shared store on this host's disk (undefined: read from the store each time). */
  componentCache?: (sha256: string, fetch: () => Promise<Uint8Array | undefined>) => Promise<Uint8Array | undefined>;
  pools: Pools;
  maxQueues: number;
  /** Whether the host has invoke or admin keys (a function with `"auth": "key"` needs them). */
  hasKeys: boolean;
  arn(name: string, qualifier?: string): string;
  log(level: LogLevel, message: string): void;
  closing(): boolean;
  /** The host's queues changed. */
  onQueues(queues: Readonly<Record<string, QueueConfig>>): void;
  /** After a switch: `name`'s configuration serving traffic is now `config` (undefined: removed). */
  onSwitched(name: string, config: FunctionConfig | undefined): Promise<void>;
}

export class Deployments {
  readonly #port: DeploymentsPort;
  #registry = new Registry();
  readonly #failures = new Map<string, LoadFailure>();
  /** Functions a change is being prepared for. */
  readonly #updating = new Set<string>();
  /** Why the latest change of a function failed. */
  readonly #updateFailures = new Map<string, string>();
  /** Changes, one at a time. */
  #changes: Promise<unknown> = Promise.resolve();
  #queues: Record<string, QueueConfig> = {};
  #routes = new RouteTable([]);
  /** Stops following other hosts' changes (a shared store). */
  #unfollow: (() => void) | undefined;
  /** A catch-up with the store is queued behind the changes in progress. */
  #catchUpQueued = false;
  /** Why the last catch-up with the store failed (cleared by one that succeeds). */
  #behind: string | undefined;

  constructor(port: DeploymentsPort) {
    this.#port = port;
  }

  get registry(): Registry {
    return this.#registry;
  }

  get routes(): RouteTable {
    return this.#routes;
  }

  get failures(): ReadonlyMap<string, LoadFailure> {
    return this.#failures;
  }

  get updating(): ReadonlySet<string> {
    return this.#updating;
  }

  get updateFailures(): ReadonlyMap<string, string> {
    return this.#updateFailures;
  }

  /** Starts from what the store holds (./startup.ts loads the rest). */
  restore(snapshot: RegistrySnapshot): void {
    this.#registry = Registry.from(snapshot);
  }

  /** Records a function that could not be loaded or prepared at start: it answers 503 on its routes and reports why. */
  loadFailed(name: string, failure: LoadFailure): void {
    this.#failures.set(name, failure);
  }

  /** Records a deployment that failed at start: a new function is failed, a deployed one keeps running and reports its failed update. */
  deployFailed(name: string, failure: LoadFailure): void {
    if (this.#registry.get(name) === undefined) this.#failures.set(name, failure);
    else this.#updateFailures.set(name, failure.error.message);
  }

  /** The host's queues. */
  get queues(): Readonly<Record<string, QueueConfig>> {
    return this.#queues;
  }

  /** Replaces the host's queues, held to the same rules as a deployment's. */
  setQueues(queues: Record<string, QueueConfig>): void {
    const problems = checkQueues(queues, this.#port.maxQueues);
    if (problems.length > 0) throw new WfnError("WFN_INVALID_CONFIG", `the host's queues: ${problems.map((p) => `${p.field}: ${p.message}`).join("; ")}`);
    this.#setQueues(queues);
  }

  /** Rebuilds the route table and lets the triggers of functions that no deployment touched follow them. */
  async settle(untouched: Iterable<string>): Promise<void> {
    this.#setRoutes(this.#routeTable(this.#registry));
    for (const name of untouched) await this.#switched(name);
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
        queues = { ...this.#queues };
        for (const [name, queue] of Object.entries(options.queues)) queues[name] = resolveQueueConfig(name, queue);
        change.queues = queues;
      }
      const components = new Map(uploads.map((upload) => [upload.manifest.component.sha256, upload.component]));
      await this.#commit(change, { components, touched: [...names], ...(queues === undefined ? {} : { queues }) });
      for (const result of results.filter((r) => r.changed)) {
        this.#failures.delete(result.function);
        const pool = this.#port.pools.ready(result.function, result.to);
        this.#port.log("info", `function ${result.function} version ${result.to} ready${pool === undefined ? "" : ` (${pool.config.minInstances} warm)`}`);
      }
      return { functions: results };
    });
  }

  async updateConfiguration(name: string, patch: ConfigurationPatch, options: { description?: string } = {}): Promise<DeploymentResult> {
    const fn = this.existing(name);
    const latest = fn.versions.get(fn.record.latest)!;
    // Checked (schema, limits, routes, queues) like any deployment.
    const config = { ...latest.manifest.config, ...patch, entry: latest.manifest.config.entry, style: latest.manifest.config.style } as FunctionConfig;
    const component = await this.componentBytes(latest.manifest.component.sha256);
    return this.deployApp([{ manifest: { ...latest.manifest, config }, component, origin: "configuration update" }], options);
  }

  async undeploy(name: string): Promise<boolean> {
    const fn = this.#registry.get(name);
    const failed = this.#failures.delete(name);
    if (fn === undefined) {
      if (failed) this.#setRoutes(this.#routeTable(this.#registry));
      return failed;
    }
    // Pruned in the same turn of the fleet's lock: no other host is between storing a component and saving the version that uses it.
    await this.#serialized(async () => {
      await this.#commit({ deleteFunctions: [name] }, { touched: [name] });
      await this.#port.store.pruneComponents();
    });
    this.#port.log("info", `function ${name} removed`);
    return true;
  }

  async setAlias(name: string, alias: string, target: { version: number; canary?: { version: number; weight: number }; description?: string }): Promise<void> {
    await this.#serialized(() => this.#commit(this.#registry.planAlias(name, alias, target.version, target.canary, target.description, Date.now()), { touched: [name] }));
  }

  async deleteAlias(name: string, alias: string): Promise<void> {
    await this.#serialized(() => this.#commit(this.#registry.planDeleteAlias(name, alias, Date.now()), { touched: [name] }));
  }

  async setTraffic(name: string, qualifier: string): Promise<void> {
    await this.#serialized(() => this.#commit(this.#registry.planTraffic(name, qualifier, Date.now()), { touched: [name] }));
  }

  async rollback(name: string, options: { to?: number } = {}): Promise<{ qualifier: string; from: number; to: number }> {
    return this.#serialized(async () => {
      const { change, ...outcome } = this.#registry.planRollback(name, options.to, Date.now());
      await this.#commit(change, { touched: [name] });
      this.#port.log("info", `function ${name}: ${outcome.qualifier} rolled back from version ${outcome.from} to ${outcome.to}`);
      return outcome;
    });
  }

  async deleteVersion(name: string, version: number): Promise<void> {
    await this.#serialized(async () => {
      await this.#commit(this.#registry.planDeleteVersion(name, version), { touched: [name] });
      await this.#port.store.pruneComponents();
    });
  }

  /**
   * Follows what other hosts of a shared store deploy: each change they
   * make is prepared here (its versions' pools warm) and then switched to,
   * as a change made here is. Nothing to do on a store one host uses.
   */
  follow(): void {
    const { store } = this.#port;
    if (store.followRegistry === undefined || this.#unfollow !== undefined) return;
    this.#unfollow = store.followRegistry(() => this.#queueCatchUp());
  }

  /** Stops following other hosts (the host is closing). */
  unfollow(): void {
    this.#unfollow?.();
    this.#unfollow = undefined;
  }

  #queueCatchUp(): void {
    if (this.#catchUpQueued || this.#port.closing()) return;
    this.#catchUpQueued = true;
    const run = this.#changes.then(async () => {
      this.#catchUpQueued = false;
      await this.#catchUp();
      this.#behind = undefined;
    });
    this.#changes = run.catch((error: unknown) => {
      this.#behind = asWfnError(error, "WFN_INTERNAL").message;
      this.#port.log("error", `following what other hosts deployed failed: ${this.#behind}; trying again in ${CATCH_UP_RETRY_MS / 1000} s`);
      setTimeout(() => this.#queueCatchUp(), CATCH_UP_RETRY_MS).unref();
    });
  }

  /** Why this host does not serve what the shared store holds (its last catch-up failed), or undefined. */
  get behind(): string | undefined {
    return this.#behind;
  }

  /**
   * Brings this host to what the shared store holds: the functions whose
   * records, versions or aliases differ are prepared, then switched to in one
   * step, like a change made here. Throws (nothing switched) when a version
   * cannot be prepared.
   */
  async #catchUp(): Promise<void> {
    const { store, pools } = this.#port;
    if (store.followRegistry === undefined || this.#port.closing()) return;
    const snapshot = await store.loadRegistry();
    const next = Registry.from(snapshot);
    const touched = changedFunctions(this.#registry, next);
    const queues = snapshot.queues ?? this.#queues;
    const queuesChanged = !isDeepStrictEqual(queues, this.#queues);
    if (touched.length === 0 && !queuesChanged) return;
    const created: VersionRecord[] = [];
    try {
      await this.#prepare(next, touched, created);
    } catch (error) {
      pools.drain(created);
      throw error;
    }
    // The switch, as in #commit.
    this.#registry = next;
    if (queuesChanged) this.#setQueues(queues);
    for (const name of touched) if (next.get(name) !== undefined) this.#failures.delete(name);
    this.#setRoutes(this.#routeTable(next));
    for (const name of touched) await this.#switched(name);
    this.#drainUnused(touched);
    if (touched.length > 0) this.#port.log("info", `following another host: ${touched.map((name) => describeFunction(next, name)).join(", ")}`);
  }

  /** Waits for the change in progress. */
  async settled(): Promise<void> {
    await this.#changes;
  }

  /** The route table, and the executors' routing with it (they serve routed requests themselves when they accept HTTP). */
  #setRoutes(table: RouteTable): void {
    this.#routes = table;
    this.#port.pools.route(this.routing());
  }

  /** What an executor accepting HTTP needs to serve each function's routes itself (pool/protocol.ts). */
  routing(): RoutingSnapshot {
    const targets: Record<string, RoutedTarget> = {};
    const routed = (resolved: Resolved): RoutedVersion => ({
      pool: `${resolved.version.function}@${resolved.version.version}`,
      executedVersion: resolved.executedVersion,
      timeoutMs: resolved.version.manifest.config.timeoutMs,
      memoryMB: resolved.version.manifest.config.memoryMB,
    });
    for (const [name, fn] of this.#registry.functions) {
      const qualifier = this.trafficQualifier(name);
      // A draw of 1 never picks an alias's canary, a draw of 0 always does.
      const primary = this.#registry.resolve(name, qualifier, () => 1);
      const canary = this.#registry.resolve(name, qualifier, () => 0);
      const weight = qualifier === undefined ? undefined : fn.aliases.get(qualifier)?.routing?.weight;
      targets[name] = {
        qualifier,
        arn: this.#port.arn(name, qualifier),
        requiresKey: this.requiresKey(name, qualifier) === true,
        primary: routed(primary),
        canary: weight === undefined ? undefined : { ...routed(canary), weight },
      };
    }
    return { routes: [...this.#routes.functions], targets };
  }

  /** The version a name and qualifier designate, or a clear error; `draw` (in [0, 1)) picks between an alias's versions. */
  resolve(name: string, qualifier: string | undefined, draw?: number): Resolved {
    if (this.#registry.get(name) === undefined) {
      const failure = this.#failures.get(name);
      if (failure !== undefined) throw new WfnError("WFN_FUNCTION_UNAVAILABLE", `function ${name} is not available: ${failure.error.message}`);
      if (this.#updating.has(name)) throw new WfnError("WFN_FUNCTION_UNAVAILABLE", `function ${name} is being deployed`);
      throw new WfnError("WFN_FUNCTION_NOT_FOUND", `Function not found: ${this.#port.arn(name, qualifier ?? LATEST)}`);
    }
    try {
      return this.#registry.resolve(name, qualifier, draw === undefined ? Math.random : () => draw);
    } catch (error) {
      if (error instanceof WfnError && error.code === "WFN_FUNCTION_NOT_FOUND") {
        throw new WfnError("WFN_FUNCTION_NOT_FOUND", `Function not found: ${this.#port.arn(name, qualifier ?? LATEST)}`);
      }
      throw error;
    }
  }

  /** A deployed function, or WFN_FUNCTION_NOT_FOUND. */
  existing(name: string): DeployedFunction {
    const fn = this.#registry.get(name);
    if (fn === undefined) throw new WfnError("WFN_FUNCTION_NOT_FOUND", `Function not found: ${this.#port.arn(name)}`);
    return fn;
  }

  /** The alias serving a function's routed traffic, or undefined for `$LATEST`. */
  trafficQualifier(name: string): string | undefined {
    const traffic = this.#registry.get(name)?.record.traffic;
    return traffic === undefined || traffic === LATEST ? undefined : traffic;
  }

  /** Whether any version an invocation with this qualifier may run needs a key; undefined when there is none. */
  requiresKey(name: string, qualifier: string | undefined): boolean | undefined {
    return this.#registry.designated(name, qualifier)?.some((version) => version.manifest.config.auth === "key");
  }

  async componentBytes(sha256: string): Promise<Uint8Array> {
    const { store, componentCache } = this.#port;
    const fetch = () => store.getComponent(sha256);
    const bytes = componentCache === undefined ? await fetch() : await componentCache(sha256, fetch);
    if (bytes === undefined) throw new WfnError("WFN_INVALID_ARTIFACT", `component ${sha256.slice(0, 12)}… is missing from the host's store`);
    return bytes;
  }

  /**
   * Applies a planned change: checked and prepared on a copy of the
   * registry, persisted, then switched to in one synchronous step. Versions
   * nothing points at any more drain afterwards.
   */
  async #commit(change: RegistryChange, context: { touched: string[]; components?: Map<string, Uint8Array>; queues?: Record<string, QueueConfig> }): Promise<void> {
    const { store, pools } = this.#port;
    if (this.#port.closing()) throw new WfnError("WFN_SHUTTING_DOWN");
    const next = this.#registry.clone();
    next.apply(change);
    const queues = context.queues ?? this.#queues;
    this.#check(next, queues);
    for (const name of context.touched) {
      this.#updating.add(name);
      this.#updateFailures.delete(name);
    }
    const created: VersionRecord[] = [];
    // New components go to disk while their versions are prepared (both take a while); the
    // registry that refers to them is saved only once both are done.
    const fresh = [...(context.components ?? [])].filter(([sha256]) => (change.versions ?? []).some((v) => v.manifest.component.sha256 === sha256));
    const stored = Promise.all(fresh.map(([sha256, bytes]) => store.putComponent(sha256, bytes)));
    stored.catch(() => undefined); // awaited below; a failure there fails the deployment
    try {
      // Prepare and warm every version that will be in use, before anything switches.
      await this.#prepare(next, context.touched, created, context.components);
      await stored;
      await store.saveRegistry(change);
    } catch (error) {
      pools.drain(created);
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
    this.#setRoutes(this.#routeTable(next));
    for (const name of context.touched) this.#updating.delete(name);
    for (const name of context.touched) await this.#switched(name);
    this.#drainUnused(context.touched);
  }

  /**
   * Prepares and warms every version of `names` that `next` has in use and no pool has yet, each
   * recorded in `created` as it starts (the caller drains them if the change fails).
   */
  async #prepare(next: Registry, names: readonly string[], created: VersionRecord[], components?: ReadonlyMap<string, Uint8Array>): Promise<void> {
    const { pools } = this.#port;
    for (const name of names) {
      const fn = next.get(name);
      if (fn === undefined) continue;
      for (const number of next.referenced(fn)) {
        const version = fn.versions.get(number)!;
        if (pools.has(version)) continue;
        created.push(version);
        await pools.get(version, components);
      }
    }
  }

  /** Throws WFN_INVALID_CONFIG when a planned registry would not work: clashing routes, undeclared queues. */
  #check(registry: Registry, queues: Record<string, QueueConfig>): void {
    this.#routeTable(registry);
    const configs = new Map<string, FunctionConfig>();
    for (const fn of registry.functions.values()) configs.set(fn.record.name, registry.trafficVersion(fn).manifest.config);
    const problems = checkAppConfig(configs, queues, this.#port.maxQueues);
    if (problems.length > 0) {
      throw new WfnError("WFN_INVALID_CONFIG", problems.map((p) => `${p.function === undefined ? "" : `function ${p.function}: `}${p.field}: ${p.message}`).join("; "));
    }
  }

  /** Drains the pools of versions of `names` that nothing points at any more. */
  #drainUnused(names: string[]): void {
    for (const name of names) {
      const fn = this.#registry.get(name);
      const kept = fn === undefined ? new Set<number>() : this.#registry.referenced(fn);
      this.#port.pools.drain(this.#port.pools.versionsOf(name).filter((version) => !kept.has(version.version) || !fn!.versions.has(version.version)));
    }
  }

  async #switched(name: string): Promise<void> {
    const config = this.#registry.trafficConfig(name);
    if (config?.auth === "key" && !this.#port.hasKeys) {
      this.#port.log("warn", `function ${name} has "auth": "key" but this host has no invoke or admin keys, so every invocation of it is refused (start the host with --invoke-key)`);
    }
    await this.#port.onSwitched(name, config);
  }

  /** Runs a change after those before it; on a shared store, under the fleet's lock and on what the fleet has. */
  #serialized<T>(change: () => Promise<T>): Promise<T> {
    const { store } = this.#port;
    const work =
      store.followRegistry === undefined
        ? change
        : () =>
            store.withRegistryLock(async () => {
              await this.#catchUp();
              return change();
            });
    const run = this.#changes.then(work, work);
    this.#changes = run.catch(() => undefined);
    return run;
  }

  #setQueues(queues: Record<string, QueueConfig>): void {
    this.#queues = queues;
    this.#port.onQueues(queues);
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
}

/** How soon a host tries again to follow a change it could not prepare. */
const CATCH_UP_RETRY_MS = 5000;

/** Names of the functions whose record, versions or aliases differ between two registries (added and removed ones too). */
function changedFunctions(before: Registry, after: Registry): string[] {
  const view = (fn: DeployedFunction | undefined) =>
    fn === undefined ? undefined : { record: fn.record, versions: [...fn.versions.keys()].sort((a, b) => a - b), aliases: [...fn.aliases.values()].sort((a, b) => (a.name < b.name ? -1 : 1)) };
  const names = new Set([...before.functions.keys(), ...after.functions.keys()]);
  return [...names].filter((name) => !isDeepStrictEqual(view(before.get(name)), view(after.get(name))));
}

/** "hello (version 3)", or "hello (removed)", for the log. */
function describeFunction(registry: Registry, name: string): string {
  const fn = registry.get(name);
  if (fn === undefined) return `${name} (removed)`;
  const traffic = registry.trafficVersion(fn).version;
  return `${name} (${fn.record.traffic === LATEST ? "" : `${fn.record.traffic} → `}version ${traffic})`;
}
