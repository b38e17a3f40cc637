// The store's own failures, read from what node:sqlite and node:fs throw; a
// full disk is said in words, with the directory to free.
import { WfnError } from "../errors.js";

const SQLITE_FULL = 13;

/** The primary SQLite result code of a node:sqlite error, if it is one. */
export function sqliteCode(error: unknown): number | undefined {
  const code = (error as { errcode?: unknown } | null)?.errcode;
  return typeof code === "number" ? code & 0xff : undefined;
}

/** Whether a write failed for want of space: SQLITE_FULL from the database, ENOSPC or EDQUOT from a file. */
export function isDiskFull(error: unknown): boolean {
  const errno = (error as NodeJS.ErrnoException | null)?.code;
  return sqliteCode(error) === SQLITE_FULL || errno === "ENOSPC" || errno === "EDQUOT";
}

/** `error` as WFN_DISK_FULL naming `dataDir` when it is a full disk; any other error as it is. */
export function storeFailure(error: unknown, dataDir: string | undefined): unknown {
  if (!isDiskFull(error)) return error;
  const message =
    dataDir === undefined
      ? "the host's in-memory store is full"
      : `the host's data directory ${dataDir} is full (no space left on its disk); free space there, then retry`;
  return new WfnError("WFN_DISK_FULL", message, { cause: error });
}
