// @wfn/cli/testing — a project's functions inside an ordinary vitest (or any)
// test: built as `wfn build` builds them (cached by content hash, so only a
// changed function is componentized again), served by a real in-process
// host (worker threads, real instances) with its own throwaway state, and
// driven through the same triggers users have.
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { createHost, readArtifact, type Host, type HostOptions, type InvocationResult, type LogRecord } from "@wfn/runtime";
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
  /** The functions' own log lines so far (what `console.*` wrote), oldest first; only `name`'s when given. */
  logs(name?: string): string[];
  /** Stops the host and removes its state. */
  close(): Promise<void>;
}

/** How {@link loadFunctions} builds and serves. */
export interface LoadOptions {
  /** Type-check the entries first, as `wfn build` does (default true). */
  typecheck?: boolean;
  /** Host options (limits, keys...) beside the functions and a fresh data directory. */
  host?: Omit<HostOptions, "dir" | "functions" | "dataDir" | "log">;
}

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
  let host: Host;
  try {
    host = await createHost({
      executors: 1,
      ...options.host,
      functions: await Promise.all(built.map((fn) => readArtifact(fn.dir))),
      dataDir,
      log: (record) => {
        if (record.source === "guest") records.push(record);
      },
    });
  } catch (error) {
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
    logs: (name) => records.filter((record) => name === undefined || record.function === name).map((record) => record.message),
    async close() {
      await host.close();
      await rm(dataDir, { recursive: true, force: true });
    },
  };
}
