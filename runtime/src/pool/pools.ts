// The host's pools, one per function version in use, shaped like undici's
// Agent: `get` prepares a version's pool on first use (component compiled,
// `minInstances` warm) and hands out the same one after; `drain` retires
// pools; `snapshots` and `instances` are what status and metrics read.
import { prepareComponent } from "../artifact/prepare.js";
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
}

export class Pools {
  readonly #options: PoolsOptions;
  readonly #scheduler: Scheduler;
  readonly #slots = new Map<string, PoolSlot>();

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

  /** Whether a version has a pool (ready or being prepared). */
  has(version: Pick<VersionRecord, "function" | "version">): boolean {
    return this.#slots.has(poolKey(version));
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
    if (existing !== undefined) return existing.ready;
    const slot: PoolSlot = { version, pool: undefined, ready: undefined as unknown as Promise<FunctionPool> };
    // `pool` is set before anyone awaiting `ready` resumes.
    slot.ready = this.#prepare(version, components).then((pool) => (slot.pool = pool));
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
      const slot = this.#slots.get(key);
      if (slot === undefined) continue;
      this.#slots.delete(key);
      void slot.ready.then((pool) => pool.drain(), () => undefined);
    }
  }

  /** The versions of `name` that have pools. */
  versionsOf(name: string): VersionRecord[] {
    return [...this.#slots.values()].filter((slot) => slot.version.function === name).map((slot) => slot.version);
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

  async #prepare(version: VersionRecord, components: ReadonlyMap<string, Uint8Array> | undefined): Promise<FunctionPool> {
    const { manifest } = version;
    const bytes = components?.get(manifest.component.sha256) ?? (await this.#options.componentBytes(manifest.component.sha256));
    const component = await prepareComponent({ manifest, component: bytes, origin: `${version.function} version ${version.version}` }, this.#options.settings.cacheDir);
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

function poolKey(version: Pick<VersionRecord, "function" | "version">): string {
  return `${version.function}@${version.version}`;
}
