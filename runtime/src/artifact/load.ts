// Reads packaged functions (a folder with manifest.json + component.wasm)
// and checks them before anything runs: schema, size, content hash.
import { createHash } from "node:crypto";
import { readdir, readFile, stat } from "node:fs/promises";
import { basename, join, resolve } from "node:path";
import { assertFunctionConfig, resolveQueueConfig, type QueueConfig, type QueueConfigInput } from "../config/function-config.js";
import { PROJECT_SCHEMA_ID, validatorFor } from "../config/schema.js";
import { WfnError } from "../errors.js";
import { mapLimit } from "../util/map-limit.js";
import { MANIFEST_FILE, validateManifest, type Manifest } from "./manifest.js";

/** Artifacts read at once by readArtifacts(). */
const READ_CONCURRENCY = 4;

/** A packaged function: its manifest and its component bytes. */
export interface Artifact {
  manifest: Manifest;
  component: Uint8Array;
  /** Where the artifact came from, for messages (a folder path, or "memory"). */
  origin: string;
}

/** A folder that could not be read as an artifact, and why. */
export interface ArtifactFailure {
  origin: string;
  /** The manifest, when it is valid and only the component is at fault. */
  manifest: Manifest | undefined;
  error: WfnError;
}

/** Lower-case hex SHA-256. */
export function sha256Hex(bytes: Uint8Array): string {
  return createHash("sha256").update(bytes).digest("hex");
}

/**
 * Component bytes already hashed in this process (read from disk or
 * received, then held by the host): checking an artifact twice on its way to
 * a deployment hashes its 10+ MB once.
 */
const hashed = new WeakMap<Uint8Array, string>();

/**
 * Compiles the schema validators that checking an artifact uses (about
 * 100 ms the first time in a process), so that the first deployment to a
 * running host does not pay for it.
 */
export function prepareValidators(): void {
  validateManifest(null);
  validatorFor("app", APP_SCHEMA);
}

/**
 * Records that `bytes` hash to `sha256`, so that checking them as an
 * artifact's component does not hash them again. Only for a digest the
 * caller computed over exactly these bytes (an upload hashed as it arrived).
 */
export function rememberHash(bytes: Uint8Array, sha256: string): void {
  hashed.set(bytes, sha256);
}

/** Checks an in-memory artifact: manifest schema, configuration, size and hash of the component. */
export function checkArtifact(artifact: Artifact): void {
  checkManifest(artifact.manifest, artifact.origin);
  const { manifest, component } = artifact;
  let actual = hashed.get(component);
  // The size first: a component of the wrong size is not worth hashing.
  if (component.byteLength === manifest.component.size && actual === undefined) {
    actual = sha256Hex(component);
    hashed.set(component, actual);
  }
  checkComponent(manifest, artifact.origin, component.byteLength, actual ?? "");
}

/**
 * Checks a manifest before its component is looked at: schema and
 * configuration. `where` names the artifact in errors.
 */
export function checkManifest(manifest: Manifest, where: string): void {
  const problems = validateManifest(manifest);
  if (problems.length > 0) {
    const list = problems.map((p) => (p.path ? `${p.path} ${p.message}` : p.message)).join("; ");
    throw new WfnError("WFN_INVALID_ARTIFACT", `${where}: invalid manifest: ${list}`, { details: { problems } });
  }
  assertFunctionConfig(manifest.name, manifest.config);
}

/**
 * Checks that a component of `size` bytes whose SHA-256 is `sha256` is the
 * one a (valid) manifest describes; an upload checks what it measured while
 * reading, before holding the bytes in memory.
 */
export function checkComponent(manifest: Manifest, where: string, size: number, sha256: string): void {
  if (size !== manifest.component.size) {
    throw new WfnError(
      "WFN_INVALID_ARTIFACT",
      `${where}: component is ${size} bytes but the manifest says ${manifest.component.size}; rebuild it with \`wfn build\``,
    );
  }
  if (sha256 !== manifest.component.sha256) {
    throw new WfnError(
      "WFN_INVALID_ARTIFACT",
      `${where}: component hash ${sha256.slice(0, 12)}… does not match the manifest (${manifest.component.sha256.slice(0, 12)}…); the file is corrupted or was changed after the build`,
    );
  }
}

/** Reads and checks the artifact in one folder. */
export async function readArtifact(dir: string): Promise<Artifact> {
  const origin = resolve(dir);
  const manifestPath = join(origin, MANIFEST_FILE);
  let text: string;
  try {
    text = await readFile(manifestPath, "utf8");
  } catch (cause) {
    throw new WfnError("WFN_INVALID_ARTIFACT", `${origin}: no ${MANIFEST_FILE} (is this a \`wfn build\` output folder?)`, { cause });
  }
  let manifest: Manifest;
  try {
    manifest = JSON.parse(text) as Manifest;
  } catch (cause) {
    throw new WfnError("WFN_INVALID_ARTIFACT", `${manifestPath}: not valid JSON (${(cause as Error).message})`, { cause });
  }
  const file = typeof manifest?.component?.file === "string" ? basename(manifest.component.file) : "component.wasm";
  let component: Uint8Array;
  try {
    component = await readFile(join(origin, file));
  } catch (cause) {
    throw new WfnError("WFN_INVALID_ARTIFACT", `${origin}: cannot read the component ${file}: ${(cause as Error).message}`, { cause });
  }
  const artifact = { manifest, component, origin };
  checkArtifact(artifact);
  return artifact;
}

/**
 * Reads every artifact under a build folder (one sub-folder per function).
 * A bad artifact does not stop the others: it is reported in `failures`.
 */
export async function readArtifacts(buildDir: string): Promise<{ artifacts: Artifact[]; failures: ArtifactFailure[] }> {
  const root = resolve(buildDir);
  let entries: string[];
  try {
    if (!(await stat(root)).isDirectory()) throw new Error("not a directory");
    entries = (await readdir(root, { withFileTypes: true })).filter((e) => e.isDirectory()).map((e) => e.name).sort();
  } catch (cause) {
    throw new WfnError("WFN_INVALID_ARTIFACT", `${root}: no build output here (run \`wfn build\` first)`, { cause });
  }
  // Read a few at a time: reading and hashing a 12 MB component is I/O and CPU that overlap.
  const read = await mapLimit(entries, READ_CONCURRENCY, async (entry): Promise<Artifact | ArtifactFailure> => {
    const dir = join(root, entry);
    try {
      return await readArtifact(dir);
    } catch (error) {
      if (!(error instanceof WfnError)) throw error;
      return { origin: dir, manifest: await readValidManifest(dir), error };
    }
  });
  const artifacts = read.filter((r): r is Artifact => "component" in r);
  const failures = read.filter((r): r is ArtifactFailure => !("component" in r));
  return { artifacts, failures };
}

async function readValidManifest(dir: string): Promise<Manifest | undefined> {
  try {
    const parsed = JSON.parse(await readFile(join(dir, MANIFEST_FILE), "utf8")) as unknown;
    return validateManifest(parsed).length === 0 ? (parsed as Manifest) : undefined;
  } catch {
    return undefined;
  }
}

/** The app-wide part of a build folder (`app.json`): what no single function owns. */
export const APP_FILE = "app.json";

/** What `app.json` holds. */
export interface AppConfig {
  /** The app's queues, defaults filled in. */
  queues: Record<string, QueueConfig>;
}

const APP_SCHEMA = {
  type: "object",
  additionalProperties: false,
  properties: {
    version: { const: 1 },
    // The very definition wfn.json's queues have (names included), so the two cannot drift.
    queues: { $ref: `${PROJECT_SCHEMA_ID}#/properties/queues` },
  },
};

/** Reads a build folder's `app.json`; a folder without one (an older build) has no queues. */
export async function readAppConfig(buildDir: string): Promise<AppConfig> {
  const path = join(resolve(buildDir), APP_FILE);
  let text: string;
  try {
    text = await readFile(path, "utf8");
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === "ENOENT") return { queues: {} };
    throw new WfnError("WFN_INVALID_ARTIFACT", `${path}: cannot be read: ${(error as Error).message}`, { cause: error });
  }
  const queues: Record<string, QueueConfig> = {};
  for (const [name, queue] of Object.entries(parseAppFile(text, path) ?? {})) queues[name] = resolveQueueConfig(name, queue);
  return { queues };
}

/**
 * Parses and checks the text of an `app.json` (from a build folder or an
 * upload); returns its queues as written (undefined when it declares none).
 * `where` names it in errors.
 */
export function parseAppFile(text: string, where: string, code: "WFN_INVALID_ARTIFACT" | "WFN_INVALID_REQUEST" = "WFN_INVALID_ARTIFACT"): Record<string, QueueConfigInput> | undefined {
  let parsed: { queues?: Record<string, QueueConfigInput> };
  try {
    parsed = JSON.parse(text) as typeof parsed;
  } catch (cause) {
    throw new WfnError(code, `${where}: not valid JSON (${(cause as Error).message})`, { cause });
  }
  const problems = validatorFor("app", APP_SCHEMA)(parsed);
  if (problems.length > 0) {
    throw new WfnError(code, `${where}: ${problems.map((p) => (p.path ? `${p.path} ${p.message}` : p.message)).join("; ")}`);
  }
  return parsed.queues;
}
