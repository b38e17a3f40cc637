// The status read model: what `functions()`, `function(name)` and
// `versions(name)` report, read from the deployments and the pools. It
// changes nothing.
import { LATEST } from "./registry.js";
import type { Deployments } from "./deployments.js";
import type { AliasStatus, FunctionStatus, InstanceCounts, VersionStatus } from "../host-types.js";

/** Where the instance counts come from. */
export interface InstanceSource {
  instances(name: string, version?: number): InstanceCounts;
}

const NO_INSTANCES: InstanceCounts = Object.freeze({ total: 0, idle: 0, busy: 0, starting: 0 });

export class Status {
  readonly #deployments: Deployments;
  readonly #pools: InstanceSource;

  constructor(deployments: Deployments, pools: InstanceSource) {
    this.#deployments = deployments;
    this.#pools = pools;
  }

  /** The functions the host knows, loaded or failed, by name. */
  functions(): FunctionStatus[] {
    const names = new Set([...this.#deployments.registry.functions.keys(), ...this.#deployments.failures.keys()]);
    return [...names].sort((a, b) => a.localeCompare(b)).map((name) => this.function(name)!);
  }

  function(name: string): FunctionStatus | undefined {
    const { registry, failures, updating, updateFailures } = this.#deployments;
    const fn = registry.get(name);
    const failure = failures.get(name);
    if (fn === undefined && failure === undefined) {
      if (!updating.has(name)) return undefined;
      return { name, state: "Pending", lastUpdateStatus: "InProgress", traffic: LATEST, routes: [], aliases: [], instances: { ...NO_INSTANCES } };
    }
    const updateFailure = updateFailures.get(name);
    const update = updating.has(name)
      ? { lastUpdateStatus: "InProgress" as const }
      : updateFailure !== undefined || (fn !== undefined && failure !== undefined)
        ? { lastUpdateStatus: "Failed" as const, lastUpdateStatusReason: updateFailure ?? failure!.error.message }
        : { lastUpdateStatus: "Successful" as const };
    if (fn === undefined) {
      return { name, state: "Failed", stateReason: failure!.error.message, ...update, traffic: LATEST, routes: [...failure!.routes], aliases: [], instances: { ...NO_INSTANCES } };
    }
    const serving = registry.trafficVersion(fn);
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
      instances: this.#pools.instances(name),
    };
  }

  versions(name: string): VersionStatus[] {
    const fn = this.#deployments.existing(name);
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
      instances: this.#pools.instances(name, version.version),
    }));
  }
}
