// Starts real hosts on loopback for tests, and always stops them.
import { afterAll } from "vitest";
import { createHost, serve, type Host, type HostOptions, type LogRecord, type RunningServer } from "@wfn/runtime";
import { CACHE_DIR } from "./paths.js";

export interface TestHost {
  host: Host;
  url: string;
  server: RunningServer;
  /** Every log record the host wrote. */
  logs: LogRecord[];
  /** Fetches a path on the host. */
  get(path: string, init?: RequestInit): Promise<Response>;
}

/** Starts a host on an ephemeral port; it is closed after the test file. */
export async function startHost(options: HostOptions): Promise<TestHost> {
  const logs: LogRecord[] = [];
  const host = await createHost({ cacheDir: CACHE_DIR, executors: 2, ...options, log: (record) => logs.push(record) });
  const server = await serve(host, { port: 0 });
  afterAll(() => server.close());
  return { host, url: server.url, server, logs, get: (path, init) => fetch(server.url + path, init) };
}
