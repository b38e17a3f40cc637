// The host's options with every default filled in, once: the rooms read
// HostSettings and never a `?? default` of their own.
import { availableParallelism, tmpdir } from "node:os";
import { join } from "node:path";
import type { AccessPolicy } from "./api/auth.js";
import { DEFAULT_REGION } from "./config/lambda-env.js";
import type { Artifact } from "./artifact/load.js";
import { KV_DEFAULTS, type KvLimits } from "./capabilities/kv/config.js";
import type { QueueConfigInput } from "./config/function-config.js";
import { DEFAULTS, type HostOptions } from "./host-types.js";
import { defaultCacheDir } from "./util/cache-dir.js";

type Limits = typeof DEFAULTS;

/** What the host loads at start, besides what its store holds. */
export interface StartupSources {
  dirs: string[];
  functions: Artifact[];
  queues: Record<string, QueueConfigInput>;
  /** The folder of uploads a previous run may have left (removed first), when the host has a data directory. */
  uploadDir: string | undefined;
}

/** {@link HostOptions} resolved: what every room of the host reads. */
export interface HostSettings extends Limits {
  region: string;
  cacheDir: string;
  executors: number;
  /** Where uploads are written while they arrive. */
  uploadDir: string;
  access: AccessPolicy;
  /** Limits of the key-value capability. */
  kv: KvLimits;
  /** What the host loads at start besides its store. */
  startup: StartupSources;
  /** Outbound origins sent elsewhere ({@link HostOptions.outboundRoutes}). */
  outboundRoutes: Record<string, string>;
}

/** Fills in every default of `options`. */
export function hostSettings(options: HostOptions): HostSettings {
  return {
    ...withDefaults(DEFAULTS, options),
    region: options.region ?? DEFAULT_REGION,
    cacheDir: options.cacheDir ?? defaultCacheDir(),
    executors: Math.max(1, options.executors ?? Math.min(4, availableParallelism())),
    // Beside the store when there is one (a tmpfs /tmp would hold uploads in memory).
    uploadDir: options.dataDir === undefined ? tmpdir() : join(options.dataDir, "uploads"),
    kv: withDefaults(KV_DEFAULTS, options.kv ?? {}),
    outboundRoutes: options.outboundRoutes ?? {},
    startup: {
      dirs: options.dir === undefined ? [] : ([] as string[]).concat(options.dir),
      functions: options.functions ?? [],
      queues: options.queues ?? {},
      uploadDir: options.dataDir === undefined ? undefined : join(options.dataDir, "uploads"),
    },
    access: {
      keys: { admin: options.adminKeys ?? [], invoke: options.invokeKeys ?? [] },
      trustUnauthenticated: options.admin?.trustUnauthenticated === true,
      trustProxy: options.trustProxy === true,
    },
  };
}

/** Each field of `defaults`, taken from `given` where it is set there (other fields of `given` are ignored). */
function withDefaults<T extends object>(defaults: T, given: { [K in keyof T]?: T[K] | undefined }): T {
  const result = { ...defaults };
  for (const key of Object.keys(defaults) as Array<keyof T>) {
    const value = given[key];
    if (value !== undefined) result[key] = value;
  }
  return result;
}
