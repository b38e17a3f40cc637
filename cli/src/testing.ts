// @wfn/cli/testing — a project's functions inside an ordinary vitest (or any)
// test: built as `wfn build` builds them (cached by content hash, so only a
// changed function is componentized again), served by a real in-process
// host (worker threads, real instances) with its own throwaway state, and
// driven through the same triggers users have.
import { randomUUID } from "node:crypto";
import { mkdtemp, rm } from "node:fs/promises";
import { createServer } from "node:http";
import type { AddressInfo } from "node:net";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { getRequestListener } from "@hono/node-server";
import { createHost, readArtifact, ROUTED_FROM_HEADER, storageRecords, type Artifact, type Host, type HostOptions, type InvocationResult, type LogRecord } from "@wfn/runtime";
import { buildProject } from "./build/build.js";
import { loadProject } from "./project/project.js";

/** A project's functions, built and served for a test. */
export interface TestFunctions {
  /** The host they run on (its whole API: queues, deploy, aliases...). */
  readonly host: Host;
  /** Sends an HTTP request to the functions' routes; a path is taken as `http://localhost<path>`. */
  fetch(input: string | URL | Request, init?: RequestInit): Promise<Response>;
  /** Invokes a function directly with a JSON payload, as `wfn invoke` does. */
  invoke(name: string, payload?: unknown): Promise<InvocationResult>;
  /** Delivers one batch of queue messages (their bodies) to a function's queue handler, as its queue trigger would. */
  queue(name: string, bodies: string[], options?: { queue?: string }): Promise<InvocationResult>;
  /** Fires a function's schedule handler once, as its schedule would at `time` (default: now). */
  scheduled(name: string, options?: { time?: Date; schedule?: string; expression?: string }): Promise<InvocationResult>;
  /**
   * Notifies a function's storage trigger of object changes, as an
   * S3-compatible store would (its `events`, `prefix` and `suffix` filters
   * apply); resolves to the invocation's result, or to undefined when the
   * filters accept none of the changes and the function is not invoked.
   */
  storage(name: string, changes: readonly StorageChange[]): Promise<InvocationResult | undefined>;
  /** The functions' own log lines so far (what `console.*` wrote), oldest first; only `name`'s when given. */
  logs(name?: string): string[];
  /** Stops the host and removes its state. */
  close(): Promise<void>;
}

/** One object change for {@link TestFunctions.storage}. */
export interface StorageChange {
  /** The object key, as it is (not URL-encoded). */
  key: string;
  /** Default `"test"`. */
  bucket?: string;
  /** Default `"ObjectCreated:Put"`; `"ObjectRemoved:Delete"`... */
  eventName?: string;
  /** Bytes; default 0. */
  size?: number;
  etag?: string;
  versionId?: string;
  /** Default: now. */
  time?: Date;
}

/** How {@link loadFunctions} builds and serves. */
export interface LoadOptions {
  /** Type-check the entries first, as `wfn build` does (default true). */
  typecheck?: boolean;
  /** Host options (limits, keys...) beside the functions and a fresh data directory. */
  host?: Omit<HostOptions, "dir" | "functions" | "queues" | "dataDir" | "log" | "outboundRoutes">;
  /**
   * Handlers that answer the functions' outbound fetch() to these origins
   * (`{ "https://api.example.com": (request) => Response.json({...}) }`),
   * in the test's own process: nothing leaves the machine. The functions'
   * `allowedOutboundHosts` still decide what they may reach; a request to an
   * origin with no handler goes out as usual.
   */
  outbound?: Record<string, OutboundHandler>;
}

/** Answers one outbound request of a function (its URL is the one the function asked for). */
export type OutboundHandler = (request: Request) => Response | Promise<Response>;

/**
 * Builds the project in `dir` (a path or a `file:` URL, e.g.
 * `new URL("..", import.meta.url)` from a test file) and serves its functions
 * on an in-process host with its own temporary state. Call `close()` when done.
 */
export async function loadFunctions(dir: string | URL, options: LoadOptions = {}): Promise<TestFunctions> {
  const projectDir = resolve(typeof dir === "string" ? dir : fileURLToPath(dir));
  const project = await loadProject(projectDir);
  const built = await buildProject(project, { typecheck: options.typecheck ?? true });
  const dataDir = await mkdtemp(join(tmpdir(), "wfn-test-"));
  const records: LogRecord[] = [];
  const standIn = options.outbound === undefined ? undefined : await serveOutbound(options.outbound);
  let host: Host;
  let artifacts: Artifact[] = [];
  try {
    artifacts = await Promise.all(built.map((fn) => readArtifact(fn.dir)));
    host = await createHost({
      executors: 1,
      ...options.host,
      ...(standIn === undefined ? {} : { outboundRoutes: Object.fromEntries(Object.keys(options.outbound!).map((origin) => [origin, standIn.origin])) }),
      functions: artifacts,
      queues: project.queues,
      dataDir,
      log: (record) => {
        if (record.source === "guest") records.push(record);
      },
    });
  } catch (error) {
    await standIn?.close();
    await rm(dataDir, { recursive: true, force: true });
    throw error;
  }
  return {
    host,
    fetch(input, init) {
      const request = typeof input === "string" && input.startsWith("/") ? new Request(`http://localhost${input}`, init) : new Request(input, init);
      return host.fetch(request);
    },
    invoke: (name, payload = null) => host.invoke(name, payload),
    queue(name, bodies, { queue = "test" } = {}) {
      const now = BigInt(Date.now());
      const messages = bodies.map((body) => ({ id: randomUUID(), receiptHandle: randomUUID(), body, attributes: [], receiveCount: 1, sentTimestamp: now, firstReceiveTimestamp: now }));
      return host.dispatch(name, { tag: "queue", val: { queue, messages } });
    },
    scheduled(name, { time = new Date(), schedule = name, expression = "rate(1 minute)" } = {}) {
      return host.dispatch(name, { tag: "schedule", val: { id: randomUUID(), name: schedule, expression, time: time.toISOString() } });
    },
    async storage(name, changes) {
      const trigger = artifacts.find((artifact) => artifact.manifest.name === name)?.manifest.config.storage;
      if (trigger === undefined) throw new Error(`function ${JSON.stringify(name)} has no storage trigger in wfn.json`);
      const accepted = storageRecords({ Records: changes.map(s3Record) }, trigger);
      return accepted.length === 0 ? undefined : host.dispatch(name, { tag: "storage", val: accepted });
    },
    logs: (name) => records.filter((record) => name === undefined || record.function === name).map((record) => record.message),
    async close() {
      await host.close();
      await standIn?.close();
      await rm(dataDir, { recursive: true, force: true });
    },
  };
}

/** The S3 event notification record of a change, in AWS's form: keys form-encoded, no `s3:` before the event name. */
function s3Record(change: StorageChange): Record<string, unknown> {
  return {
    eventVersion: "2.1",
    eventSource: "aws:s3",
    eventName: change.eventName ?? "ObjectCreated:Put",
    eventTime: (change.time ?? new Date()).toISOString(),
    s3: {
      bucket: { name: change.bucket ?? "test" },
      object: { key: encodeURIComponent(change.key).replace(/%20/g, "+"), size: change.size ?? 0, eTag: change.etag ?? "", ...(change.versionId === undefined ? {} : { versionId: change.versionId }) },
    },
  };
}

/** A loopback server in this process that answers routed outbound requests with the test's handlers, by the origin each was for. */
async function serveOutbound(handlers: Record<string, OutboundHandler>): Promise<{ origin: string; close(): Promise<void> }> {
  const byOrigin = new Map(Object.entries(handlers).map(([origin, handler]) => [new URL(origin).origin, handler]));
  const listener = getRequestListener(async (request) => {
    const origin = request.headers.get(ROUTED_FROM_HEADER) ?? "";
    const handler = byOrigin.get(origin);
    if (handler === undefined) return new Response(`no outbound handler for ${origin}`, { status: 502 });
    const { pathname, search } = new URL(request.url);
    const headers = new Headers(request.headers);
    headers.delete(ROUTED_FROM_HEADER);
    headers.set("host", new URL(origin).host);
    const body = request.method === "GET" || request.method === "HEAD" ? undefined : await request.arrayBuffer();
    return handler(new Request(`${origin}${pathname}${search}`, { method: request.method, headers, body }));
  });
  const server = createServer(listener);
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const { port } = server.address() as AddressInfo;
  return {
    origin: `http://127.0.0.1:${port}`,
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}

