// Which store a host opens: PostgreSQL when it is given a postgres:// URL,
// else the embedded SQLite store (in its data directory, or in memory).
import { WfnError } from "../errors.js";
import { openSqliteStore } from "./sqlite.js";
import type { Store } from "./store.js";
import { redactStoreUrl } from "./postgres-errors.js";

export { redactStoreUrl };

/**
 * Opens the store: `url` a PostgreSQL URL (`postgres://user:password@host:5432/database`),
 * or undefined for the embedded SQLite store in `dataDir` (in memory without one).
 * @throws WfnError WFN_INVALID_CONFIG when `url` is not a PostgreSQL URL.
 */
export async function openStore(url: string | undefined, dataDir: string | undefined): Promise<Store> {
  if (url === undefined) return openSqliteStore(dataDir);
  let protocol: string | undefined;
  try {
    protocol = new URL(url).protocol;
  } catch {
    protocol = undefined;
  }
  if (protocol !== "postgres:" && protocol !== "postgresql:") {
    throw new WfnError("WFN_INVALID_CONFIG", `the store must be a PostgreSQL URL (postgres://user:password@host:5432/database), got ${redactStoreUrl(url)}; leave it out for the embedded store`);
  }
  // Loaded only when asked for: a host on the embedded store never loads the client.
  const { openPostgresStore } = await import("./postgres.js");
  return openPostgresStore(url);
}
