// What is deployed, in memory: each function's immutable versions, what
// `$LATEST` and each alias designate, and which qualifier serves its routed
// traffic. Pure bookkeeping: it plans changes (as RegistryChange, which the
// store persists) and answers "which version runs this invocation?". The host
// owns everything that runs.
import { isDeepStrictEqual } from "node:util";
import type { Manifest } from "../artifact/manifest.js";
import type { FunctionConfig } from "../config/function-config.js";
import { WfnError } from "../errors.js";
import type { AliasRecord, FunctionRecord, RegistryChange, RegistrySnapshot, VersionRecord } from "../store/store.js";

export const LATEST = "$LATEST";

/** Alias names: what AWS Lambda accepts, and never a bare number (those are versions). */
const ALIAS_NAME_PATTERN = /^(?!^[0-9]+$)[a-zA-Z0-9-_]{1,128}$/;

/** One deployed function. */
export interface DeployedFunction {
  record: FunctionRecord;
  versions: Map<number, VersionRecord>;
  aliases: Map<string, AliasRecord>;
}

/** The version that runs an invocation, and how it was designated. */
export interface Resolved {
  fn: DeployedFunction;
  version: VersionRecord;
  /** What the invocation reports as its version: `$LATEST` when called unqualified, else the version number. */
  executedVersion: string;
  /** The qualifier as the caller gave it (`$LATEST`, a number or an alias). */
  qualifier: string;
}

/** A function to deploy: its manifest, and its component's bytes. */
export interface Upload {
  manifest: Manifest;
  component: Uint8Array;
}

export class Registry {
  readonly functions = new Map<string, DeployedFunction>();

  static from(snapshot: RegistrySnapshot): Registry {
    const registry = new Registry();
    registry.apply({ functions: snapshot.functions, versions: snapshot.versions, aliases: snapshot.aliases });
    return registry;
  }

  /** A copy to plan on: changes applied to it do not touch this one. */
  clone(): Registry {
    const copy = new Registry();
    for (const [name, fn] of this.functions) copy.functions.set(name, { record: fn.record, versions: new Map(fn.versions), aliases: new Map(fn.aliases) });
    return copy;
  }

  get(name: string): DeployedFunction | undefined {
    return this.functions.get(name);
  }

  /**
   * The version an invocation of `name` with `qualifier` runs. A weighted
   * alias picks its canary with probability `weight` (`random` in [0, 1)).
   *
   * @throws WfnError WFN_FUNCTION_NOT_FOUND when the function, version or alias does not exist.
   */
  resolve(name: string, qualifier: string | undefined, random: () => number = Math.random): Resolved {
    const fn = this.functions.get(name);
    const wanted = qualifier ?? LATEST;
    const notFound = () => new WfnError("WFN_FUNCTION_NOT_FOUND", `Function not found: ${name}${wanted === LATEST ? "" : `:${wanted}`}`);
    if (fn === undefined) throw notFound();
    if (wanted === LATEST) return { fn, version: fn.versions.get(fn.record.latest)!, executedVersion: LATEST, qualifier: wanted };
    if (/^[0-9]+$/.test(wanted)) {
      const version = fn.versions.get(Number(wanted));
      if (version === undefined) throw notFound();
      return { fn, version, executedVersion: String(version.version), qualifier: wanted };
    }
    const alias = fn.aliases.get(wanted);
    if (alias === undefined) throw notFound();
    const number = alias.routing !== undefined && random() < alias.routing.weight ? alias.routing.version : alias.version;
    return { fn, version: fn.versions.get(number)!, executedVersion: String(number), qualifier: wanted };
  }

  /**
   * Every version an invocation of `name` with `qualifier` may run: one, or
   * an alias's version and its canary. Undefined when the function, version
   * or alias does not exist.
   */
  designated(name: string, qualifier: string | undefined): VersionRecord[] | undefined {
    const fn = this.functions.get(name);
    if (fn === undefined) return undefined;
    const wanted = qualifier ?? LATEST;
    if (wanted === LATEST) return [fn.versions.get(fn.record.latest)!];
    if (/^[0-9]+$/.test(wanted)) {
      const version = fn.versions.get(Number(wanted));
      return version === undefined ? undefined : [version];
    }
    const alias = fn.aliases.get(wanted);
    if (alias === undefined) return undefined;
    const numbers = alias.routing === undefined ? [alias.version] : [alias.version, alias.routing.version];
    return numbers.map((number) => fn.versions.get(number)!);
  }

  /** The version whose configuration (routes, triggers) serves a function's traffic: the primary version of its traffic qualifier. */
  trafficVersion(fn: DeployedFunction): VersionRecord {
    const alias = fn.record.traffic === LATEST ? undefined : fn.aliases.get(fn.record.traffic);
    return fn.versions.get(alias?.version ?? fn.record.latest)!;
  }

  /** The configuration serving a function's traffic (see trafficVersion), or undefined when there is no such function. */
  trafficConfig(name: string): FunctionConfig | undefined {
    const fn = this.functions.get(name);
    return fn === undefined ? undefined : this.trafficVersion(fn).manifest.config;
  }

  /** Versions something points at: `$LATEST`, every alias and every canary. These are kept warm. */
  referenced(fn: DeployedFunction): Set<number> {
    const versions = new Set([fn.record.latest]);
    for (const alias of fn.aliases.values()) {
      versions.add(alias.version);
      if (alias.routing !== undefined) versions.add(alias.routing.version);
    }
    return versions;
  }

  /** Applies a change that the store has persisted. */
  apply(change: RegistryChange): void {
    for (const name of change.deleteFunctions ?? []) this.functions.delete(name);
    for (const record of change.functions ?? []) {
      const fn = this.functions.get(record.name);
      if (fn === undefined) this.functions.set(record.name, { record, versions: new Map(), aliases: new Map() });
      else fn.record = record;
    }
    for (const version of change.versions ?? []) this.functions.get(version.function)?.versions.set(version.version, version);
    for (const { function: name, version } of change.deleteVersions ?? []) this.functions.get(name)?.versions.delete(version);
    for (const { function: name, name: alias } of change.deleteAliases ?? []) this.functions.get(name)?.aliases.delete(alias);
    for (const alias of change.aliases ?? []) this.functions.get(alias.function)?.aliases.set(alias.name, alias);
  }

  /**
   * Plans a deployment: a new version for each upload whose component or
   * configuration differs from its `$LATEST`, which becomes the new `$LATEST`.
   * Returns the change and, per upload, the version it became (or kept).
   */
  planDeploy(uploads: readonly Upload[], now: number, description?: string): { change: RegistryChange; results: DeployResult[] } {
    const change: Required<Pick<RegistryChange, "functions" | "versions">> = { functions: [], versions: [] };
    const results: DeployResult[] = [];
    for (const { manifest } of uploads) {
      const fn = this.functions.get(manifest.name);
      const latest = fn === undefined ? undefined : fn.versions.get(fn.record.latest);
      if (latest !== undefined && sameVersion(latest.manifest, manifest)) {
        results.push({ function: manifest.name, from: latest.version, to: latest.version, sha256: manifest.component.sha256, changed: false });
        continue;
      }
      const number = (fn?.record.lastVersion ?? 0) + 1;
      change.functions.push({
        name: manifest.name,
        latest: number,
        lastVersion: number,
        traffic: fn?.record.traffic ?? LATEST,
        createdAt: fn?.record.createdAt ?? now,
        updatedAt: now,
      });
      change.versions.push({ function: manifest.name, version: number, manifest, description, createdAt: now });
      results.push({ function: manifest.name, from: latest?.version, to: number, sha256: manifest.component.sha256, changed: true });
    }
    return { change, results };
  }

  /** Plans creating or updating an alias. */
  planAlias(name: string, alias: string, version: number, routing: AliasRecord["routing"], description: string | undefined, now: number): RegistryChange {
    const fn = this.#existing(name);
    if (!ALIAS_NAME_PATTERN.test(alias) || alias === LATEST) {
      throw new WfnError("WFN_INVALID_REQUEST", `"${alias}" is not a valid alias name (letters, digits, "-" and "_", not only digits, at most 128)`);
    }
    this.#existingVersion(fn, version);
    if (routing !== undefined) {
      this.#existingVersion(fn, routing.version);
      if (routing.version === version) throw new WfnError("WFN_INVALID_REQUEST", "the canary version must differ from the alias's version");
      if (!(routing.weight > 0 && routing.weight < 1)) throw new WfnError("WFN_INVALID_REQUEST", "the canary weight must be between 0 and 1 (exclusive)");
    }
    return { aliases: [{ function: name, name: alias, version, routing, description, updatedAt: now }] };
  }

  planDeleteAlias(name: string, alias: string, now: number): RegistryChange {
    const fn = this.#existing(name);
    if (!fn.aliases.has(alias)) throw new WfnError("WFN_FUNCTION_NOT_FOUND", `Function not found: ${name}:${alias} (no such alias)`);
    const change: RegistryChange = { deleteAliases: [{ function: name, name: alias }] };
    // Traffic served through the alias goes back to $LATEST.
    if (fn.record.traffic === alias) change.functions = [{ ...fn.record, traffic: LATEST, updatedAt: now }];
    return change;
  }

  /** Plans which qualifier serves a function's routes and triggers. */
  planTraffic(name: string, qualifier: string, now: number): RegistryChange {
    const fn = this.#existing(name);
    if (qualifier !== LATEST && !fn.aliases.has(qualifier)) {
      throw new WfnError("WFN_INVALID_REQUEST", `traffic can go to $LATEST or an alias of ${name} (${[...fn.aliases.keys()].join(", ") || "none yet"}), not "${qualifier}"`);
    }
    return { functions: [{ ...fn.record, traffic: qualifier, updatedAt: now }] };
  }

  /**
   * Plans a rollback of what serves a function's traffic: its alias (or
   * `$LATEST`) moves to `to`, by default the highest version below the
   * current one, and a canary is dropped. An alias with a canary and no
   * `to` only loses its canary.
   */
  planRollback(name: string, to: number | undefined, now: number): { change: RegistryChange; qualifier: string; from: number; to: number } {
    const fn = this.#existing(name);
    const qualifier = fn.record.traffic;
    const alias = qualifier === LATEST ? undefined : fn.aliases.get(qualifier);
    const from = alias?.version ?? fn.record.latest;
    // With a canary and no target, rolling back drops the canary.
    const target = to ?? (alias?.routing !== undefined ? from : Math.max(-1, ...[...fn.versions.keys()].filter((v) => v < from)));
    if (target < 0) throw new WfnError("WFN_INVALID_REQUEST", `${name} has no version before ${from} to roll back to`);
    this.#existingVersion(fn, target);
    if (target === from && alias?.routing === undefined) throw new WfnError("WFN_INVALID_REQUEST", `${qualifier} of ${name} is already version ${target}`);
    const change: RegistryChange =
      alias === undefined
        ? { functions: [{ ...fn.record, latest: target, updatedAt: now }] }
        : { aliases: [{ ...alias, version: target, routing: undefined, updatedAt: now }] };
    return { change, qualifier, from, to: target };
  }

  /** Plans deleting one version; refused while `$LATEST` or an alias points at it. */
  planDeleteVersion(name: string, version: number): RegistryChange {
    const fn = this.#existing(name);
    this.#existingVersion(fn, version);
    if (this.referenced(fn).has(version)) {
      const users = [...(fn.record.latest === version ? [LATEST] : []), ...[...fn.aliases.values()].filter((a) => a.version === version || a.routing?.version === version).map((a) => a.name)];
      throw new WfnError("WFN_INVALID_REQUEST", `version ${version} of ${name} is in use by ${users.join(", ")}; point them elsewhere first`);
    }
    return { deleteVersions: [{ function: name, version }] };
  }

  #existing(name: string): DeployedFunction {
    const fn = this.functions.get(name);
    if (fn === undefined) throw new WfnError("WFN_FUNCTION_NOT_FOUND", `Function not found: ${name}`);
    return fn;
  }

  #existingVersion(fn: DeployedFunction, version: number): VersionRecord {
    const found = Number.isInteger(version) ? fn.versions.get(version) : undefined;
    if (found === undefined) throw new WfnError("WFN_FUNCTION_NOT_FOUND", `Function not found: ${fn.record.name}:${version} (no such version)`);
    return found;
  }
}

/** What a deployment did to one function. */
export interface DeployResult {
  function: string;
  /** The `$LATEST` version before (undefined for a new function). */
  from: number | undefined;
  /** The `$LATEST` version after. */
  to: number;
  sha256: string;
  /** False when the upload matched `$LATEST` and no version was made. */
  changed: boolean;
}

/** Same code and same configuration: deploying it again makes no new version. */
function sameVersion(a: Manifest, b: Manifest): boolean {
  return a.component.sha256 === b.component.sha256 && isDeepStrictEqual(a.config, b.config);
}
