// The admin key `wfn serve` makes for a run when it is given none. It is
// written where only the user running the host can read it, and `wfn`
// commands on this machine that target that host find it there: the admin
// API answers the same user, not everything that can reach a loopback port
// (a reverse proxy, another user, a function's outbound request).
import { randomBytes } from "node:crypto";
import { mkdir, readFile, rm, writeFile } from "node:fs/promises";
import { homedir } from "node:os";
import { join } from "node:path";

/** Where local keys are kept: `$WFN_STATE_DIR`, else `$XDG_RUNTIME_DIR/wfn`, else `$XDG_STATE_HOME/wfn` or `~/.local/state/wfn`. */
export function localKeyDir(): string {
  const env = process.env;
  if (env.WFN_STATE_DIR) return join(env.WFN_STATE_DIR, "hosts");
  if (env.XDG_RUNTIME_DIR) return join(env.XDG_RUNTIME_DIR, "wfn", "hosts");
  return join(env.XDG_STATE_HOME || join(homedir(), ".local", "state"), "wfn", "hosts");
}

/** The file holding the key of the host listening on `port` of this machine. */
export function localKeyFile(port: number): string {
  return join(localKeyDir(), `${port}.key`);
}

/** A fresh admin key (256 random bits, hex). */
export function makeLocalKey(): string {
  return randomBytes(32).toString("hex");
}

/** Writes the key of the host on `port`, readable by this user only; returns the file. */
export async function writeLocalKey(port: number, key: string): Promise<string> {
  const file = localKeyFile(port);
  await mkdir(localKeyDir(), { recursive: true, mode: 0o700 });
  await rm(file, { force: true });
  await writeFile(file, `${key}\n`, { mode: 0o600, flag: "wx" });
  return file;
}

/** Removes the key file of `port` if it still holds `key` (a later run on the same port owns it otherwise). */
export async function removeLocalKey(port: number, key: string): Promise<void> {
  const file = localKeyFile(port);
  try {
    if ((await readFile(file, "utf8")).trim() === key) await rm(file, { force: true });
  } catch {
    // already gone
  }
}

/** The local key for a host URL on this machine (127.0.0.0/8, ::1, localhost), if its host wrote one. */
export async function readLocalKey(url: URL): Promise<string | undefined> {
  const host = url.hostname.replace(/^\[|\]$/g, "").toLowerCase();
  if (host !== "localhost" && host !== "::1" && !host.startsWith("127.")) return undefined;
  const port = url.port === "" ? (url.protocol === "https:" ? 443 : 80) : Number(url.port);
  try {
    const key = (await readFile(localKeyFile(port), "utf8")).trim();
    return key === "" ? undefined : key;
  } catch {
    return undefined;
  }
}
