// Serves a host over HTTP with Node's own server (through
// @hono/node-server). `wfn serve` uses this; so can any embedder who does
// not already have a server to mount `host.app` into.
import { readFileSync } from "node:fs";
import { createServer as createNetServer, type AddressInfo, type Server as NetServer, type Socket } from "node:net";
import type { Server } from "node:http";
import { randomBytes } from "node:crypto";
import { createAdaptorServer } from "@hono/node-server";
import { ACCEPT_IN_EXECUTORS, adoptForwarded, STOP_ACCEPTING } from "./accept.js";
import { WfnError } from "./errors.js";
import type { Host } from "./host-types.js";
import { CONNECTION_BUCKETS } from "./pool/executor-http.js";

export interface ServeOptions {
  /** Port to listen on; 0 picks a free one. Default 8787. */
  port?: number;
  /** Interface to bind. Default 127.0.0.1. */
  hostname?: string;
  /**
   * Open connections at most; more are closed as soon as they arrive, so
   * the host never runs out of file descriptors. Default: half the
   * process's open-file limit (`ulimit -n`), at most 10 000.
   */
  maxConnections?: number;
  /**
   * Open connections from one client address at most, so that one client
   * cannot take them all. Default: a quarter of `maxConnections`.
   */
  maxConnectionsPerClient?: number;
  /**
   * Which threads accept connections. `executors` (the default on Linux):
   * every executor listens on the port (`reusePort`) and serves requests for
   * functions' routes itself, on instances lent to it; the rest goes to the
   * main thread. `main` (the default elsewhere, or with `WFN_ACCEPT_IN=main`):
   * the main thread accepts everything and hands calls to executors. See
   * runtime/src/pool/README.md, "The data plane".
   */
  acceptIn?: "executors" | "main";
}

/** What serve() may ask of a host made by createHost (not part of the public Host interface). */
interface AcceptingHost {
  [ACCEPT_IN_EXECUTORS](settings: { port: number; hostname: string; mainPort: number; secret: string; connections: SharedArrayBuffer; maxConnections: number; maxConnectionsPerClient: number }): Promise<number>;
  [STOP_ACCEPTING](): void;
}

/** A listening server. */
export interface RunningServer {
  /** Base URL, such as `http://127.0.0.1:8787`. */
  readonly url: string;
  readonly port: number;
  /** The main thread's server: on `port`, or, with the executors accepting, on a loopback port of its own for what they forward. */
  readonly server: Server;
  /** Stops accepting connections, lets the host finish in-flight work, then closes everything. */
  close(): Promise<void>;
}

/** Starts an HTTP server for `host`; rejects with a clear WfnError if the port cannot be bound. */
export async function serve(host: Host, options: ServeOptions = {}): Promise<RunningServer> {
  const hostname = options.hostname ?? "127.0.0.1";
  const maxConnections = options.maxConnections ?? defaultMaxConnections();
  const maxConnectionsPerClient = options.maxConnectionsPerClient ?? Math.max(1, Math.floor(maxConnections / 4));
  const accepting = (options.acceptIn ?? defaultAcceptIn()) === "executors" && process.platform === "linux" && ACCEPT_IN_EXECUTORS in host ? (host as Host & AcceptingHost) : undefined;
  if (accepting !== undefined) return serveInExecutors(host, accepting, { ...options, hostname, maxConnections, maxConnectionsPerClient });
  const server = createAdaptorServer({ fetch: host.app.fetch, hostname }) as Server;
  limitConnections(server, maxConnections, maxConnectionsPerClient);
  await listen(server, options.port ?? 8787, hostname);
  const port = (server.address() as AddressInfo).port;
  return { url: baseUrl(hostname, port), port, server, close: closer(host, server) };
}

/** Stops accepting (`first`), lets the host finish in-flight work, then closes every connection; once. */
function closer(host: Host, server: Server, first?: () => void): () => Promise<void> {
  let closing: Promise<void> | undefined;
  return () => {
    closing ??= (async () => {
      first?.();
      const closed = new Promise<void>((resolve) => server.close(() => resolve()));
      server.closeIdleConnections();
      await host.close();
      server.closeAllConnections();
      await closed;
    })();
    return closing;
  };
}

/**
 * The executors accept on Linux (`reusePort`), the main thread elsewhere;
 * `WFN_ACCEPT_IN=main` or `=executors` chooses (executors still need Linux).
 */
function defaultAcceptIn(): "executors" | "main" {
  const wanted = process.env.WFN_ACCEPT_IN;
  if (wanted !== undefined && wanted !== "" && wanted !== "main" && wanted !== "executors") {
    throw new WfnError("WFN_INVALID_CONFIG", `WFN_ACCEPT_IN is ${JSON.stringify(wanted)}: it must be "executors" (the executor threads accept connections; Linux only) or "main" (the main thread does)`);
  }
  return wanted !== "main" && process.platform === "linux" ? "executors" : "main";
}

/**
 * The executors listen on the port; the main thread's own server, on a
 * loopback port of its own, answers what they forward (the host's routes,
 * the Invoke API, requests no lent instance could take). `server` is that one.
 */
async function serveInExecutors(host: Host, accepting: AcceptingHost, options: ServeOptions & { hostname: string; maxConnections: number; maxConnectionsPerClient: number }): Promise<RunningServer> {
  const secret = randomBytes(24).toString("base64url");
  const proof = Buffer.from(secret);
  const wanted = options.port ?? 8787;
  // reusePort would let the executors share the port with anyone else who asks for reusePort too
  // (another wfn, say), splitting the traffic silently: first make sure nobody holds it.
  if (wanted !== 0) await probeFree(wanted, options.hostname);
  const server = createAdaptorServer({ fetch: host.app.fetch, hostname: "127.0.0.1" }) as Server;
  server.prependListener("request", (req) => adoptForwarded(req, proof));
  await listen(server, 0, "127.0.0.1");
  let port: number;
  try {
    port = await accepting[ACCEPT_IN_EXECUTORS]({
      port: wanted,
      hostname: options.hostname,
      mainPort: (server.address() as AddressInfo).port,
      secret,
      connections: new SharedArrayBuffer(4 * (1 + CONNECTION_BUCKETS)),
      maxConnections: options.maxConnections,
      maxConnectionsPerClient: options.maxConnectionsPerClient,
    });
  } catch (error) {
    server.close();
    throw listenError(error as NodeJS.ErrnoException, wanted, options.hostname);
  }
  return { url: baseUrl(options.hostname, port), port, server, close: closer(host, server, () => accepting[STOP_ACCEPTING]()) };
}

function baseUrl(hostname: string, port: number): string {
  return `http://${hostname.includes(":") ? `[${hostname}]` : hostname}:${port}`;
}

function listenError(error: NodeJS.ErrnoException, port: number, hostname: string): WfnError {
  const reason =
    error.code === "EADDRINUSE"
      ? `port ${port} on ${hostname} is already in use; choose another with --port`
      : error.code === "EACCES"
        ? `not allowed to listen on port ${port}; choose a port above 1023`
        : `cannot listen on ${hostname}:${port}: ${error.message}`;
  return new WfnError("WFN_INVALID_CONFIG", reason, { cause: error });
}

/** Binds `port` exclusively for a moment and lets it go: rejects like {@link listen} when something holds it. */
async function probeFree(port: number, hostname: string): Promise<void> {
  const probe = createNetServer();
  await listen(probe, port, hostname);
  await new Promise<void>((resolve) => probe.close(() => resolve()));
}

function listen(server: Server | NetServer, port: number, hostname: string): Promise<void> {
  return new Promise<void>((resolve, reject) => {
    const onError = (error: NodeJS.ErrnoException) => {
      server.off("listening", onListening);
      reject(listenError(error, port, hostname));
    };
    const onListening = () => {
      server.off("error", onError);
      resolve();
    };
    server.once("error", onError);
    server.once("listening", onListening);
    server.listen(port, hostname);
  });
}

/** Half the open-file limit (the rest is for the host's own files and outbound sockets), at most 10 000. */
function defaultMaxConnections(): number {
  return Math.max(64, Math.min(10_000, Math.floor(openFileLimit() / 2)));
}

/** The soft `RLIMIT_NOFILE` of this process (from /proc on Linux; 4096 where it cannot be read). */
function openFileLimit(): number {
  try {
    const line = /^Max open files\s+(\d+|unlimited)/m.exec(readFileSync("/proc/self/limits", "utf8"));
    if (line !== null) return line[1] === "unlimited" ? 1_000_000 : Number(line[1]);
  } catch {
    // not Linux
  }
  return 4096;
}

/** Closes connections past `total`, or past `perClient` from one address, as soon as they are accepted. */
function limitConnections(server: Server, total: number, perClient: number): void {
  server.maxConnections = total;
  const open = new Map<string, number>();
  server.prependListener("connection", (socket: Socket) => {
    const address = socket.remoteAddress ?? "";
    const count = (open.get(address) ?? 0) + 1;
    if (count > perClient) {
      socket.destroy();
      return;
    }
    open.set(address, count);
    socket.once("close", () => {
      const left = (open.get(address) ?? 1) - 1;
      if (left === 0) open.delete(address);
      else open.set(address, left);
    });
  });
}
