// Reads a deployment upload as it arrives: multipart/form-data parsed chunk
// by chunk, each component streamed to a temporary file and hashed on the
// way, the small parts (manifests, app.json, description) kept in memory
// under a cap. Limits are enforced while reading; a component is read back
// into memory only once the whole upload has arrived and checks out; the
// temporary files are gone when this returns, whatever happened.
import { createHash } from "node:crypto";
import { createWriteStream } from "node:fs";
import { mkdir, mkdtemp, readdir, readFile, rm, stat } from "node:fs/promises";
import { join } from "node:path";
import { addAbortSignal, type Readable } from "node:stream";
import { pipeline } from "node:stream/promises";
import { Busboy, type BusboyInstance } from "@fastify/busboy";
import { checkComponent, checkManifest, parseAppFile, rememberHash, type Artifact } from "../artifact/load.js";
import { COMPONENT_FILE, MANIFEST_FILE, type Manifest } from "../artifact/manifest.js";
import type { QueueConfigInput } from "../config/function-config.js";
import { FUNCTION_NAME } from "../config/names.js";
import { asWfnError, WfnError } from "../errors.js";
import { isDiskFull } from "../store/failures.js";

/** What a deployment upload holds, checked. */
export interface Upload {
  artifacts: Artifact[];
  /** The queues of its `app.json`, when it has one that declares any. */
  queues: Record<string, QueueConfigInput> | undefined;
  description: string | undefined;
}

/** The parts of an HTTP request an upload is read from. */
export interface UploadRequest {
  contentType: string | undefined;
  contentLength: string | undefined;
  body: AsyncIterable<Uint8Array> | null;
}

export interface UploadLimits {
  /** Largest upload, in bytes, counted as it arrives. */
  maxBytes: number;
  /** Most functions in one upload. */
  maxFunctions: number;
}

/** Largest manifest part: a built one is about 1 KB. */
export const MAX_MANIFEST_BYTES = 64 * 1024;
/** Largest app.json part: room for a host's worth of queues. */
export const MAX_APP_FILE_BYTES = 1024 * 1024;
/** Largest description (AWS Lambda allows 256 characters). */
export const MAX_DESCRIPTION_BYTES = 4 * 1024;

const FUNCTION_PART = new RegExp(`^(${FUNCTION_NAME})/(.+)$`);
/** Each upload's own temporary folder under the upload root starts with this. */
const TEMP_PREFIX = "wfn-upload-";
/** A temporary folder this old belongs to no upload still being read: its host stopped before it could clean up. */
const STALE_MS = 60 * 60 * 1000;

/**
 * Reads a deployment from a multipart/form-data request: per function,
 * `<name>/manifest.json` and `<name>/component.wasm`, plus optionally
 * `app.json` (`{"queues": {...}}`) and a `description`. Components are
 * written under `tempRoot` while they arrive (in a folder of their own,
 * removed before this returns).
 *
 * @throws WfnError WFN_PAYLOAD_TOO_LARGE for an upload or a small part over
 *   its limit, WFN_INVALID_REQUEST for a malformed or incomplete upload
 *   (duplicate parts included), WFN_INVALID_ARTIFACT for a component that
 *   is not the one its manifest describes.
 */
export async function readUpload(request: UploadRequest, limits: UploadLimits, tempRoot: string): Promise<Upload> {
  const type = request.contentType ?? "";
  if (!type.startsWith("multipart/form-data")) {
    throw new WfnError("WFN_INVALID_REQUEST", `a deployment is multipart/form-data with <function>/${MANIFEST_FILE} and <function>/${COMPONENT_FILE} parts (what \`wfn deploy\` sends)`);
  }
  if (Number(request.contentLength ?? "0") > limits.maxBytes) throw tooLarge(limits.maxBytes);
  const reader = new UploadReader(limits, tempRoot);
  try {
    await reader.read(request.body ?? (async function* () {})(), type);
    return await reader.assemble();
  } finally {
    await reader.cleanup();
  }
}

interface ReceivedComponent {
  path: string;
  size: number;
  sha256: string;
}

/** One upload being read; the first failure stops everything. */
class UploadReader {
  readonly #limits: UploadLimits;
  readonly #tempRoot: string;
  /** Aborted at the first failure: stops the parts being written and the body being fed. */
  readonly #abort = new AbortController();
  #failure: WfnError | undefined;
  /** Parts seen, by field name. */
  readonly #fields = new Set<string>();
  readonly #functions = new Set<string>();
  /** Text of the small parts, by field name. */
  readonly #small = new Map<string, string>();
  readonly #components = new Map<string, ReceivedComponent>();
  /** Each part being read; they record their failure rather than reject. */
  readonly #parts: Array<Promise<void>> = [];
  #tempDir: Promise<string> | undefined;

  constructor(limits: UploadLimits, tempRoot: string) {
    this.#limits = limits;
    this.#tempRoot = tempRoot;
  }

  /** Feeds the body to the parser, chunk by chunk, with backpressure from the parts' consumers (the disk). */
  async read(body: AsyncIterable<Uint8Array>, contentType: string): Promise<void> {
    let parser: BusboyInstance;
    try {
      parser = Busboy({
        headers: { "content-type": contentType },
        // Every part comes as a stream, so each is bounded while it arrives, whatever the client calls a file.
        isPartAFile: () => true,
        limits: { parts: this.#limits.maxFunctions * 2 + 2, headerPairs: 16 },
      });
    } catch (error) {
      throw invalid(error);
    }
    parser.on("file", (field, stream) => this.#part(field, stream));
    parser.on("partsLimit", () => this.#fail(new WfnError("WFN_INVALID_REQUEST", `the upload has more than ${this.#limits.maxFunctions * 2 + 2} parts (at most ${this.#limits.maxFunctions} functions, an app.json and a description)`)));
    parser.on("error", (error) => this.#fail(invalid(error)));
    const finished = new Promise<void>((resolve) => parser.once("finish", resolve));
    const failed = new Promise<void>((resolve) => this.#abort.signal.addEventListener("abort", () => resolve(), { once: true }));
    try {
      let received = 0;
      for await (const chunk of body) {
        received += chunk.byteLength;
        if (received > this.#limits.maxBytes) this.#fail(tooLarge(this.#limits.maxBytes));
        if (this.#failure !== undefined) break;
        if (!parser.write(chunk)) await Promise.race([new Promise((resolve) => parser.once("drain", resolve)), failed]);
      }
      if (this.#failure === undefined) {
        parser.end();
        await Promise.race([finished, failed]);
      }
      await Promise.all(this.#parts);
    } catch (error) {
      // The client went away, or its stream failed.
      this.#fail(invalid(error));
    } finally {
      if (this.#failure !== undefined) parser.destroy();
    }
    if (this.#failure !== undefined) throw this.#failure;
  }

  /** Checks what arrived and reads the components back, once each. */
  async assemble(): Promise<Upload> {
    const appFile = this.#small.get("app.json");
    const queues = appFile === undefined ? undefined : parseAppFile(appFile, "app.json", "WFN_INVALID_REQUEST");
    const names = [...this.#functions].sort();
    if (names.length === 0) throw new WfnError("WFN_INVALID_REQUEST", "the upload has no functions");
    const checked: Array<{ manifest: Manifest; component: ReceivedComponent; origin: string }> = [];
    const manifests = new Map(names.map((name) => [name, this.#manifest(name)]));
    for (const name of names) {
      const manifest = manifests.get(name);
      const component = this.#components.get(name);
      if (manifest === undefined) throw new WfnError("WFN_INVALID_REQUEST", `function ${name}: the upload has its component but no ${MANIFEST_FILE}`);
      if (component === undefined) throw new WfnError("WFN_INVALID_REQUEST", `function ${name}: the upload has its manifest but no ${COMPONENT_FILE}`);
      if (manifest?.name !== name) throw new WfnError("WFN_INVALID_ARTIFACT", `function ${name}: the manifest names "${String(manifest?.name)}"`);
      const origin = `upload ${name}`;
      checkManifest(manifest, origin);
      checkComponent(manifest, origin, component.size, component.sha256);
      checked.push({ manifest, component, origin });
    }
    const artifacts: Artifact[] = [];
    for (const { manifest, component, origin } of checked) {
      const bytes: Uint8Array = await readFile(component.path);
      // Hashed as it arrived: checking the artifact again on its way to the deployment need not hash it twice.
      rememberHash(bytes, component.sha256);
      artifacts.push({ manifest, component: bytes, origin });
    }
    return { artifacts, queues, description: this.#small.get("description") };
  }

  /** Stops whatever still runs and removes the temporary files. */
  async cleanup(): Promise<void> {
    this.#abort.abort();
    await Promise.all(this.#parts);
    if (this.#tempDir !== undefined) {
      const dir = await this.#tempDir.catch(() => undefined);
      if (dir !== undefined) await rm(dir, { recursive: true, force: true });
    }
  }

  #fail(error: unknown): void {
    if (this.#failure !== undefined) return;
    this.#failure = asWfnError(error, "WFN_INVALID_REQUEST");
    this.#abort.abort();
  }

  #manifest(name: string): Manifest | undefined {
    const text = this.#small.get(`${name}/${MANIFEST_FILE}`);
    if (text === undefined) return undefined;
    try {
      return JSON.parse(text) as Manifest;
    } catch (error) {
      throw new WfnError("WFN_INVALID_REQUEST", `${name}/${MANIFEST_FILE} is not JSON: ${(error as Error).message}`);
    }
  }

  /** Starts reading one part: where it goes depends on its name. */
  #part(field: string, stream: Readable): void {
    addAbortSignal(this.#abort.signal, stream);
    const read = async () => {
      if (this.#failure !== undefined) throw this.#failure;
      if (this.#fields.has(field)) throw new WfnError("WFN_INVALID_REQUEST", `the upload has more than one "${field}" part`);
      this.#fields.add(field);
      if (field === "description") return this.#readSmall(field, stream, MAX_DESCRIPTION_BYTES);
      if (field === "app.json") return this.#readSmall(field, stream, MAX_APP_FILE_BYTES);
      const match = FUNCTION_PART.exec(field);
      if (match === null) throw new WfnError("WFN_INVALID_REQUEST", `unexpected part "${field}" (expected <function>/${MANIFEST_FILE}, <function>/${COMPONENT_FILE}, app.json or description)`);
      const [, name, file] = match as unknown as [string, string, string];
      if (file !== MANIFEST_FILE && file !== COMPONENT_FILE) throw new WfnError("WFN_INVALID_REQUEST", `unexpected part "${field}"`);
      if (!this.#functions.has(name) && this.#functions.size >= this.#limits.maxFunctions) {
        throw new WfnError("WFN_INVALID_REQUEST", `the upload has more than ${this.#limits.maxFunctions} functions; at most ${this.#limits.maxFunctions} may be deployed at once`);
      }
      this.#functions.add(name);
      return file === MANIFEST_FILE ? this.#readSmall(field, stream, MAX_MANIFEST_BYTES) : this.#writeComponent(name, stream);
    };
    this.#parts.push(
      read().catch((error: unknown) => {
        // A part stopped because another failed has nothing to add.
        if (this.#failure === undefined) this.#fail(error);
        stream.destroy();
      }),
    );
  }

  async #readSmall(field: string, stream: Readable, limit: number): Promise<void> {
    const chunks: Buffer[] = [];
    let size = 0;
    for await (const chunk of stream as AsyncIterable<Buffer>) {
      size += chunk.byteLength;
      if (size > limit) throw new WfnError("WFN_PAYLOAD_TOO_LARGE", `the "${field}" part is larger than ${limit} bytes`, { details: { limit } });
      chunks.push(chunk);
    }
    this.#small.set(field, Buffer.concat(chunks).toString("utf8"));
  }

  async #writeComponent(name: string, stream: Readable): Promise<void> {
    try {
      await this.#writeComponentFile(name, stream);
    } catch (error) {
      if (!isDiskFull(error)) throw error;
      throw new WfnError("WFN_DISK_FULL", `no space left on the disk of ${this.#tempRoot}, where uploads are received; free space there, then retry`, { cause: error });
    }
  }

  async #writeComponentFile(name: string, stream: Readable): Promise<void> {
    const path = join(await this.#dir(), `${name}.wasm`);
    const hash = createHash("sha256");
    let size = 0;
    const limit = this.#declaredSize(name);
    await pipeline(
      stream,
      async function* (source: AsyncIterable<Buffer>) {
        for await (const chunk of source) {
          size += chunk.byteLength;
          // With its manifest ahead of it, a component larger than declared is refused without reading the rest.
          if (limit !== undefined && size > limit) {
            throw new WfnError("WFN_INVALID_ARTIFACT", `upload ${name}: the component is larger than the ${limit} bytes its manifest says; rebuild it with \`wfn build\``);
          }
          hash.update(chunk);
          yield chunk;
        }
      },
      createWriteStream(path, { flags: "wx" }),
      { signal: this.#abort.signal },
    );
    this.#components.set(name, { path, size, sha256: hash.digest("hex") });
  }

  /** The component size the function's manifest declares, when that part came first. */
  #declaredSize(name: string): number | undefined {
    try {
      const size = this.#manifest(name)?.component?.size;
      return Number.isSafeInteger(size) ? size : undefined;
    } catch {
      return undefined; // reported once the upload is complete
    }
  }

  /** This upload's own temporary folder, made when its first component arrives. */
  #dir(): Promise<string> {
    this.#tempDir ??= (async () => {
      await mkdir(this.#tempRoot, { recursive: true });
      return mkdtemp(join(this.#tempRoot, TEMP_PREFIX));
    })();
    return this.#tempDir;
  }
}

/**
 * Removes what uploads left under `tempRoot` when their host stopped in the
 * middle (a crash, a kill): folders older than an hour, so that an upload
 * another host is reading there right now is left alone.
 */
export async function removeStaleUploads(tempRoot: string, now = Date.now()): Promise<void> {
  let entries: string[];
  try {
    entries = (await readdir(tempRoot)).filter((entry) => entry.startsWith(TEMP_PREFIX));
  } catch {
    return; // no folder: nothing was ever left
  }
  for (const entry of entries) {
    const path = join(tempRoot, entry);
    try {
      if (now - (await stat(path)).mtimeMs > STALE_MS) await rm(path, { recursive: true, force: true });
    } catch {
      // gone already, or not ours to remove
    }
  }
}

function tooLarge(maxBytes: number): WfnError {
  return new WfnError("WFN_PAYLOAD_TOO_LARGE", `the upload is larger than this host's limit of ${maxBytes} bytes`, { details: { limit: maxBytes } });
}

function invalid(error: unknown): WfnError {
  if (error instanceof WfnError) return error;
  return new WfnError("WFN_INVALID_REQUEST", `the upload is not valid multipart/form-data: ${(error as Error).message}`, { cause: error });
}
