// One host per data directory, held with a lock the kernel drops when the
// holder dies, whatever its pid: a pid file cannot tell a crashed host from a
// live one when pids repeat (every container's host is pid 1).
import { rmSync } from "node:fs";
import { join } from "node:path";
import { WfnError } from "../errors.js";
import { sqliteCode } from "./failures.js";

/**
 * An empty SQLite database used only for its lock. Node has no flock();
 * SQLite's POSIX (fcntl) locks are released by the kernel when the process
 * exits, and SQLite itself refuses a second connection of the same process
 * (POSIX locks alone would not: they are per process).
 */
const LOCK_FILE = "wfn-host.lock";
/** What earlier versions used: a text file with the owner's pid. */
const LEGACY_LOCK_FILE = "wfn.lock";
const SQLITE_BUSY = 5;

/**
 * Makes `dataDir` this host's: a second host on the same store would run
 * the same queued messages and invocations twice. Throws WFN_INVALID_CONFIG
 * at once when another host (in this process or another) holds it. Returns
 * the function that releases it.
 */
export async function lockDataDir(dataDir: string): Promise<() => void> {
  const { DatabaseSync } = await import("node:sqlite");
  const db = new DatabaseSync(join(dataDir, LOCK_FILE));
  try {
    // An exclusive transaction held for the host's lifetime; MEMORY journal so it leaves no
    // journal file, busy_timeout 0 so a second host fails now rather than waiting.
    db.exec("PRAGMA busy_timeout = 0; PRAGMA locking_mode = EXCLUSIVE; PRAGMA journal_mode = MEMORY; BEGIN EXCLUSIVE");
  } catch (cause) {
    db.close();
    if (sqliteCode(cause) === SQLITE_BUSY) {
      throw new WfnError("WFN_INVALID_CONFIG", `the data directory ${dataDir} is in use by another wfn host; give each host its own --data-dir`, { cause });
    }
    throw cause;
  }
  // Ours now; an older host's pid file is stale whatever pid it names.
  rmSync(join(dataDir, LEGACY_LOCK_FILE), { force: true });
  // The file stays: removing it would let a host lock a new file while another holds the old one.
  return () => db.close();
}
