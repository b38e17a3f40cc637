// A loopback HTTP server that functions report to (their allowedOutboundHosts
// include http://127.0.0.1:*): the tests' evidence of what ran, independent
// of the host that ran it.
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { afterAll } from "vitest";

export interface Collector {
  /** The URL functions POST their reports to. */
  url: string;
  /** Every JSON report received, in order. */
  reports: Array<Record<string, unknown>>;
  /** Reports whose `id` is `id`. */
  of(id: string): Array<Record<string, unknown>>;
  /** Resolves when `done(reports)` holds; rejects after `timeoutMs` with what was received. */
  until(done: (reports: Array<Record<string, unknown>>) => boolean, timeoutMs?: number): Promise<void>;
  close(): Promise<void>;
}

/** Starts a collector on an ephemeral port; it is closed after the test file. `delayMs` slows every answer. */
export async function startCollector(options: { delayMs?: number } = {}): Promise<Collector> {
  const reports: Array<Record<string, unknown>> = [];
  const waiters = new Set<() => void>();
  const server: Server = createServer((request, response) => {
    const chunks: Buffer[] = [];
    request.on("data", (chunk: Buffer) => chunks.push(chunk));
    request.on("end", () => {
      try {
        reports.push(JSON.parse(Buffer.concat(chunks).toString("utf8")) as Record<string, unknown>);
      } catch {
        reports.push({ invalid: Buffer.concat(chunks).toString("utf8") });
      }
      for (const waiter of waiters) waiter();
      setTimeout(() => response.writeHead(204).end(), options.delayMs ?? 0);
    });
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/report`;
  let closed: Promise<void> | undefined;
  const collector: Collector = {
    url,
    reports,
    of: (id) => reports.filter((report) => report.id === id),
    until(done, timeoutMs = 30_000) {
      return new Promise((resolve, reject) => {
        const check = () => {
          if (!done(reports)) return;
          waiters.delete(check);
          clearTimeout(timer);
          resolve();
        };
        const timer = setTimeout(() => {
          waiters.delete(check);
          reject(new Error(`timed out after ${timeoutMs} ms; ${reports.length} report(s) received: ${JSON.stringify(reports.slice(-10))}`));
        }, timeoutMs);
        waiters.add(check);
        check();
      });
    },
    close() {
      closed ??= new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      });
      return closed;
    },
  };
  afterAll(() => collector.close());
  return collector;
}

/** Polls `check` every 50 ms until it returns a value other than undefined; rejects after `timeoutMs`. */
export async function eventually<T>(check: () => T | undefined | Promise<T | undefined>, timeoutMs = 20_000, what = "the condition"): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await check();
    if (value !== undefined) return value;
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}
