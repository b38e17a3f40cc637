// Serves a host over HTTP with Node's own server (through
// @hono/node-server). `wfn serve` uses this; so can any embedder who does
// not already have a server to mount `host.app` into.
import type { AddressInfo } from "node:net";
import type { Server } from "node:http";
import { createAdaptorServer } from "@hono/node-server";
import { WfnError } from "./errors.js";
import type { Host } from "./host.js";

export interface ServeOptions {
  /** Port to listen on; 0 picks a free one. Default 8787. */
  port?: number;
  /** Interface to bind. Default 127.0.0.1. */
  hostname?: string;
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
