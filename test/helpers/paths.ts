// Where things are, for tests.
import { fileURLToPath } from "node:url";
import { join } from "node:path";

export const ROOT = fileURLToPath(new URL("../..", import.meta.url));
export const WFN = join(ROOT, "cli", "bin", "wfn.js");
export const CACHE_DIR = process.env.WFN_CACHE_DIR ?? join(ROOT, ".wfn", "cache");
export const APP_BUILD = join(ROOT, "test", "fixtures", "app", ".wfn", "build");
export const HOSTILE_BUILD = join(ROOT, "test", "fixtures", "hostile", ".wfn", "build");
export const HELLO_BUILD = join(ROOT, "examples", "hello", ".wfn", "build");
export const HONO_BUILD = join(ROOT, "examples", "hono-app", ".wfn", "build");
