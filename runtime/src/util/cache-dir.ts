// Where wfn keeps caches that can be rebuilt: transpiled components,
// componentized builds. One place decides, for the CLI and the host.
import { homedir } from "node:os";
import { join, resolve } from "node:path";

/** `$WFN_CACHE_DIR`, else `$XDG_CACHE_HOME/wfn`, else `~/.cache/wfn`. */
export function defaultCacheDir(env: NodeJS.ProcessEnv = process.env): string {
  if (env.WFN_CACHE_DIR) return resolve(env.WFN_CACHE_DIR);
  return join(env.XDG_CACHE_HOME ? resolve(env.XDG_CACHE_HOME) : join(homedir(), ".cache"), "wfn");
}
