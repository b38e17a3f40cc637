// The host's pools, one per function version in use, shaped like undici's
// Agent: `get` prepares a version's pool on first use (component compiled,
// `minInstances` warm) and hands out the same one after; `drain` retires
// pools; `snapshots` and `instances` are what status and metrics read.
// What a pool with no instance holds (its prepared component) is kept
// within `maxPreparedMB`, least recently used released first (./README.md).
import { prepareComponent, type PreparedComponent } from "../artifact/prepare.js";
import { CAPABILITIES } from "../capabilities/index.js";
import { lambdaEnvironment } from "../config/lambda-env.js";
import type { InstanceCounts } from "../host-types.js";
import type { LogLevel } from "../observe/log.js";
import type { PoolSnapshot } from "../observe/telemetry.js";
import type { HostSettings } from "../settings.js";
import type { VersionRecord } from "../store/store.js";
import { FunctionPool } from "./pool.js";
import type { InstanceSettings, ListenSettings, RoutingSnapshot } from "./protocol.js";
import { Scheduler, type SchedulerOptions } from "./scheduler.js";

export interface PoolsOptions {
  settings: HostSettings;
  /** A stored component's bytes (WFN_INVALID_ARTIFACT when it is missing). */
  componentBytes(sha256: string): Promise<Uint8Array>;
  /** Answers guests' calls to the host (the capabilities' host sides). */
  hostCalls: SchedulerOptions["hostCalls"];
  /** Logs and summaries of the invocations executors ran themselves. */
  onRecords: SchedulerOptions["onRecords"];
  log(level: LogLevel, message: string): void;
}

/** The pool of one version, once prepared. */
interface PoolSlot {
  version: VersionRecord;
  ready: Promise<FunctionPool>;
  pool: FunctionPool | undefined;
  /** The prepared component, once ready (what releasing the pool frees). */
  component: PreparedComponent | undefined;
  /** When it was last asked for. */
  usedAt: number;
}

/** A pool asked for within this long is never released (its caller may be about to invoke it). */
const RELEASE_AFTER_MS = 2_000;

export class Pools {
  readonly #options: PoolsOptions;
  readonly #scheduler: Scheduler;
  readonly #slots = new Map<string, PoolSlot>();
  /**
   * Versions known to prepare that have no pool now: deployed before this
   * host started with `minInstances` 0 (prepared on first use), or released
   * to stay within `maxPreparedMB`.
   */
  readonly #deferred = new Map<string, VersionRecord>();

  constructor(options: PoolsOptions) {
    this.#options = options;
    this.#scheduler = new Scheduler({
      ...options.settings,
      hostCalls: options.hostCalls,
      onRecords: options.onRecords,
      onEvent: (event) => {
        if (event.kind === "executor-lost") options.log("warn", `executor ${event.index} stopped (${event.reason}); replaced it, ${event.instancesLost} instance(s) lost and re-warmed`);
      },
    });
  }

  /** The routing executors follow for the requests they serve themselves. */
  route(snapshot: RoutingSnapshot): void {
    this.#scheduler.route(snapshot);
  }

  /** Executors accept HTTP connections (see ./README.md); resolves with the port. */
  listen(settings: ListenSettings): Promise<number> {
    return this.#scheduler.listen(settings);
  }

  /** Executors stop accepting connections. */
  unlisten(): void {
    this.#scheduler.unlisten();
  }

  /** Whether a version has a pool (ready or being prepared), or is known to prepare and will be on first use. */
  has(version: Pick<VersionRecord, "function" | "version">): boolean {
    const key = poolKey(version);
    return this.#slots.has(key) || this.#deferred.has(key);
  }

  /**
   * Records a version that was checked when it was deployed, to be prepared
   * on its first invocation rather than now (a host with thousands of
   * functions starts without compiling any; see ./README.md).
   */
  defer(version: VersionRecord): void {
    const key = poolKey(version);
    if (!this.#slots.has(key)) this.#deferred.set(key, version);
  }

  /** A version's pool, once ready; undefined while it is prepared or when there is none. */
  ready(name: string, version: number): FunctionPool | undefined {
    return this.#slots.get(poolKey({ function: name, version }))?.pool;
  }

  /**
   * The pool of a version, prepared on first use. `components` holds bytes
   * not yet in the store (a deployment in progress).
   */
  get(version: VersionRecord, components?: ReadonlyMap<string, Uint8Array>): Promise<FunctionPool> {
    const key = poolKey(version);
    const existing = this.#slots.get(key);
    if (existing !== undefined) {
      existing.usedAt = performance.now();
      return existing.ready;
    }
    this.#deferred.delete(key);
    const slot: PoolSlot = { version, pool: undefined, component: undefined, usedAt: performance.now(), ready: undefined as unknown as Promise<FunctionPool> };
    // `pool` is set before anyone awaiting `ready` resumes.
    slot.ready = this.#prepare(version, components, slot).then((pool) => {
      slot.pool = pool;
      this.#release();
      return pool;
    });
    slot.ready.catch(() => {
      if (this.#slots.get(key) === slot) this.#slots.delete(key);
    });
    this.#slots.set(key, slot);
    return slot.ready;
  }

  /** Retires the pools of these versions: their invocations finish, then their instances go. */
  drain(versions: Iterable<Pick<VersionRecord, "function" | "version">>): void {
    for (const version of versions) {
      const key = poolKey(version);
      this.#deferred.delete(key);
      const slot = this.#slots.get(key);
      if (slot === undefined) continue;
      this.#slots.delete(key);
      void slot.ready.then((pool) => pool.drain(), () => undefined);
    }
  }

  /** The versions of `name` that have pools or will on first use. */
  versionsOf(name: string): VersionRecord[] {
    return [...this.#slots.values(), ...this.#deferred.values()].map((entry) => ("ready" in entry ? entry.version : entry)).filter((version) => version.function === name);
  }

  /** What the pools with no instance hold, in bytes (modules counted once however many share them), and how many there are. */
  held(): { bytes: number; pools: number; prepared: number; deferred: number } {
    let pools = 0;
    const counted = new Set<WebAssembly.Module>();
    let bytes = 0;
    for (const slot of this.#slots.values()) {
      if (slot.pool === undefined || slot.component === undefined || slot.pool.instances.size > 0) continue;
      pools++;
      bytes += footprint(slot.component, counted);
    }
    return { bytes, pools, prepared: this.#slots.size, deferred: this.#deferred.size };
  }

  /**
   * Releases the least recently used pools that have no instance, no call
   * and no minimum to keep, until what such pools hold fits `maxPreparedMB`.
   * A released version is prepared again on its next invocation.
   */
  #release(): void {
    const budget = this.#options.settings.maxPreparedMB * 2 ** 20;
    const now = performance.now();
    const idle = [...this.#slots.entries()].filter(([, slot]) => slot.pool !== undefined && slot.component !== undefined && slot.pool.instances.size === 0);
    const counted = new Set<WebAssembly.Module>();
    let held = 0;
    for (const [, slot] of idle) held += footprint(slot.component!, counted);
    if (held <= budget) return;
    const releasable = idle.filter(([, slot]) => isReleasable(slot.pool!) && now - slot.usedAt >= RELEASE_AFTER_MS).sort(([, a], [, b]) => a.usedAt - b.usedAt);
    for (const [key, slot] of releasable) {
      if (held <= budget) break;
      this.#slots.delete(key);
      this.#deferred.set(key, slot.version);
      void slot.pool!.drain();
      // What this pool alone held: its images, and modules no other pool that stays holds.
      const others = new Set<WebAssembly.Module>();
      for (const [otherKey, other] of idle) if (otherKey !== key && this.#slots.has(otherKey)) for (const [, module] of other.component!.modules) others.add(module);
      held -= footprint(slot.component!, others);
    }
  }

  /** Every ready pool's instances, for metrics. */
  snapshots(): PoolSnapshot[] {
    const snapshots: PoolSnapshot[] = [];
    for (const slot of this.#slots.values()) {
      const stats = slot.pool?.stats;
      if (stats === undefined) continue;
      snapshots.push({ function: slot.version.function, version: String(slot.version.version), busy: stats.busy, idle: stats.idle, waiting: stats.waiting });
    }
    return snapshots;
  }

  /** A function's instances, across its versions or of one. */
  instances(name: string, version?: number): InstanceCounts {
    const totals = { total: 0, idle: 0, busy: 0, starting: 0 };
    for (const slot of this.#slots.values()) {
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

  /** Lets every pool's invocations finish, then stops the executors. */
  async close(): Promise<void> {
    await Promise.all([...this.#slots.values()].map((slot) => slot.ready.then((pool) => pool.drain(), () => undefined)));
    await this.#scheduler.close();
  }

  async #prepare(version: VersionRecord, components: ReadonlyMap<string, Uint8Array> | undefined, slot: PoolSlot): Promise<FunctionPool> {
    const { manifest } = version;
    const bytes = components?.get(manifest.component.sha256) ?? (await this.#options.componentBytes(manifest.component.sha256));
    const component = await prepareComponent({ manifest, component: bytes, origin: `${version.function} version ${version.version}` }, this.#options.settings.cacheDir);
    slot.component = component;
    const pool = new FunctionPool({
      name: version.function,
      key: poolKey(version),
      config: manifest.config,
      component,
      scheduler: this.#scheduler,
      instanceSettings: this.#instanceSettings(version),
    });
    try {
      await pool.warm();
    } catch (error) {
      await pool.drain();
      throw error;
    }
    return pool;
  }

  /** What each instance of a version is given. */
  #instanceSettings({ function: name, version, manifest: { config } }: VersionRecord): InstanceSettings {
    const { settings } = this.#options;
    return {
      functionName: name,
      env: config.style === "lambda" ? lambdaEnvironment(name, config, { region: settings.region, version: String(version) }) : config.env,
      allowedOutboundHosts: config.allowedOutboundHosts,
      logLimitBytes: settings.logLimitBytes,
      maxOutboundRequestBytes: settings.maxOutboundRequestBytes,
      maxOutboundResponseBytes: settings.maxOutboundResponseBytes,
      maxResponseBytes: settings.maxResponseBytes,
      capabilities: CAPABILITIES.map((capability) => ({ name: capability.name, settings: capability.configure(config, settings) })),
    };
  }
}

/** Whether a pool may be released: nothing runs, waits or must stay warm there. */
function isReleasable(pool: FunctionPool): boolean {
  return pool.instances.size === 0 && pool.running === 0 && pool.waiting === 0 && pool.waitingOnExecutors === 0 && pool.warmTarget === 0 && !pool.draining;
}

/** The bytes a prepared component holds: its memory images, and its modules not yet in `counted` (added to it). */
function footprint(component: PreparedComponent, counted: Set<WebAssembly.Module>): number {
  let bytes = 0;
  for (const [, image] of component.images) bytes += image.bytes.byteLength + image.segments.byteLength;
  component.modules.forEach(([, module], i) => {
    if (counted.has(module)) return;
    counted.add(module);
    bytes += component.moduleSizes[i] ?? 0;
  });
  return bytes;
}

function poolKey(version: Pick<VersionRecord, "function" | "version">): string {
  return `${version.function}@${version.version}`;
}
