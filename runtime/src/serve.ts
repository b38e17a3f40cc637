// Serves a host over HTTP with Node's own server (through
// @hono/node-server). `wfn serve` uses this; so can any embedder who does
// not already have a server to mount `host.app` into.
import { readFileSync } from "node:fs";
import type { AddressInfo, Socket } from "node:net";
import type { Server } from "node:http";
import { createAdaptorServer } from "@hono/node-server";
import { WfnError } from "./errors.js";
import type { Host } from "./host-types.js";

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
}

/** A listening server. */
export interface RunningServer {
  /** Base URL, such as `http://127.0.0.1:8787`. */
  readonly url: string;
  readonly port: number;
  readonly server: Server;
  /** Stops accepting connections, lets the host finish in-flight work, then closes everything. */
  close(): Promise<void>;
}

/** Starts an HTTP server for `host`; rejects with a clear WfnError if the port cannot be bound. */
export async function serve(host: Host, options: ServeOptions = {}): Promise<RunningServer> {
  const hostname = options.hostname ?? "127.0.0.1";
  const server = createAdaptorServer({ fetch: host.app.fetch, hostname }) as Server;
  const maxConnections = options.maxConnections ?? defaultMaxConnections();
  limitConnections(server, maxConnections, options.maxConnectionsPerClient ?? Math.max(1, Math.floor(maxConnections / 4)));
  await new Promise<void>((resolve, reject) => {
    const onError = (error: NodeJS.ErrnoException) => {
      server.off("listening", onListening);
      const reason =
        error.code === "EADDRINUSE"
          ? `port ${options.port ?? 8787} on ${hostname} is already in use; choose another with --port`
          : error.code === "EACCES"
            ? `not allowed to listen on port ${options.port ?? 8787}; choose a port above 1023`
            : `cannot listen on ${hostname}:${options.port ?? 8787}: ${error.message}`;
      reject(new WfnError("WFN_INVALID_CONFIG", reason, { cause: error }));
    };
    const onListening = () => {
      server.off("error", onError);
      resolve();
    };
    server.once("error", onError);
    server.once("listening", onListening);
    server.listen(options.port ?? 8787, hostname);
  });
  const port = (server.address() as AddressInfo).port;
  const display = hostname.includes(":") ? `[${hostname}]` : hostname;
  let closing: Promise<void> | undefined;
  return {
    url: `http://${display}:${port}`,
    port,
    server,
    close() {
      closing ??= (async () => {
        const closed = new Promise<void>((resolve) => server.close(() => resolve()));
        server.closeIdleConnections();
        await host.close();
        server.closeAllConnections();
        await closed;
      })();
      return closing;
    },
  };
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
