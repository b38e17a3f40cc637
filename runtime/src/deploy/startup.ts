// What a host loads when it starts: the registry its store holds (the
// versions in use that keep warm instances prepared a few at a time, the
// others on their first invocation), the queues of its options and
// build folders, and the build folders' functions, deployed one at a time so
// that one bad artifact does not hold back the others. Nothing that fails to
// load stops the host: it becomes a failed function.
import { isDeepStrictEqual } from "node:util";
import { removeStaleUploads } from "../api/upload.js";
import { checkArtifact, readAppConfig, readArtifacts, type Artifact } from "../artifact/load.js";
import { prepareComponent } from "../artifact/prepare.js";
import { resolveQueueConfig, type QueueConfig } from "../config/function-config.js";
import { asWfnError } from "../errors.js";
import type { LogLevel } from "../observe/log.js";
import type { Pools } from "../pool/pools.js";
import type { StartupSources } from "../settings.js";
import type { Store, VersionRecord } from "../store/store.js";
import { mapLimit } from "../util/map-limit.js";
import type { Deployments } from "./deployments.js";


export interface StartupRooms {
  deployments: Deployments;
  pools: Pools;
  store: Store;
  cacheDir: string;
  log(level: LogLevel, message: string): void;
}

/** Components prepared at once when a host starts. */
const PREPARE_CONCURRENCY = 4;

/** Loads what the store holds and what `sources` name. */
export async function loadAtStartup(sources: StartupSources, rooms: StartupRooms): Promise<void> {
  const { deployments, store, log } = rooms;
  if (sources.uploadDir !== undefined) await removeStaleUploads(sources.uploadDir);
  const snapshot = await store.loadRegistry();
  deployments.restore(snapshot);
  const queues: Record<string, QueueConfig> = { ...(snapshot.queues ?? {}) };
  for (const [name, queue] of Object.entries(sources.queues)) queues[name] = resolveQueueConfig(name, queue);
  const artifacts = [...sources.functions];
  for (const dir of sources.dirs) {
    Object.assign(queues, (await readAppConfig(dir)).queues);
    const { artifacts: found, failures } = await readArtifacts(dir);
    artifacts.push(...found);
    for (const failure of failures) {
      const name = failure.manifest?.name ?? failure.origin;
      log("error", `function ${name} failed to load: ${failure.error.message}`);
      deployments.loadFailed(name, { error: failure.error, routes: failure.manifest?.config.routes ?? [] });
    }
  }
  deployments.setQueues(queues);
  // What was deployed before: prepare the versions in use that keep instances warm, a few at a
  // time; the others were checked when they were deployed and are prepared on first use.
  const { registry } = deployments;
  const inUse = [...registry.functions.values()].flatMap((fn) => [...registry.referenced(fn)].map((version) => fn.versions.get(version)!));
  for (const version of inUse) if (!keepsWarm(version)) rooms.pools.defer(version);
  await mapLimit(inUse.filter(keepsWarm), PREPARE_CONCURRENCY, async (version) => {
    try {
      await rooms.pools.get(version);
    } catch (error) {
      const failure = asWfnError(error, "WFN_INVALID_ARTIFACT");
      log("error", `function ${version.function} version ${version.version} failed to load: ${failure.message}`);
      deployments.loadFailed(version.function, { error: failure, routes: version.manifest.config.routes });
    }
  });
  // What is on disk: components prepared a few at a time (one's compilation overlaps another's
  // rewriting), held here until deployed; only artifacts that pass their checks, so nothing
  // unverified reaches the transpile cache.
  const ready = await mapLimit(artifacts.filter(passesChecks), PREPARE_CONCURRENCY, (artifact) => prepareComponent(artifact, rooms.cacheDir).catch(() => undefined));
  const deployed = new Set<string>();
  for (const artifact of artifacts) {
    try {
      await deployments.deployApp([artifact]);
      deployed.add(artifact.manifest.name);
    } catch (error) {
      const failure = asWfnError(error, "WFN_INVALID_ARTIFACT");
      log("error", `function ${artifact.manifest.name} failed to load: ${failure.message}`);
      deployments.deployFailed(artifact.manifest.name, { error: failure, routes: [] });
    }
  }
  ready.length = 0;
  if (!isDeepStrictEqual(snapshot.queues, deployments.queues)) await store.saveRegistry({ queues: deployments.queues });
  // A deployment above already synced its function's triggers; the others only come from the store.
  await deployments.settle([...deployments.registry.functions.keys()].filter((name) => !deployed.has(name)));
}

/** Whether a version keeps instances ready (`minInstances`, or the spare of a fresh instance per request). */
function keepsWarm(version: VersionRecord): boolean {
  const { config } = version.manifest;
  return config.minInstances > 0 || config.isolation === "request";
}

function passesChecks(artifact: Artifact): boolean {
  try {
    checkArtifact(artifact);
    return true;
  } catch {
    return false;
  }
}
