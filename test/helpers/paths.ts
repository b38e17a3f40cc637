// Where things are, for tests.
import { fileURLToPath } from "node:url";
import { join } from "node:path";

export const ROOT = fileURLToPath(new URL("../..", import.meta.url));
export const WFN = join(ROOT, "cli", "bin", "wfn.js");
export const CACHE_DIR = process.env.WFN_CACHE_DIR ?? join(ROOT, ".wfn", "cache");
export const APP_BUILD = join(ROOT, "test", "fixtures", "app", ".wfn", "build");
export const HOSTILE_BUILD = join(ROOT, "test", "fixtures", "hostile", ".wfn", "build");
export const LAMBDA_BUILD = join(ROOT, "test", "fixtures", "lambda", ".wfn", "build");
export const LAMBDA_API_BUILD = join(ROOT, "examples", "lambda-api", ".wfn", "build");
export const LAMBDA_JSON_BUILD = join(ROOT, "examples", "lambda-json", ".wfn", "build");
export const HELLO_BUILD = join(ROOT, "examples", "hello", ".wfn", "build");
export const C_HELLO = join(ROOT, "examples", "c-hello");
export const C_HELLO_BUILD = join(C_HELLO, ".wfn", "build");
export const HONO_BUILD = join(ROOT, "examples", "hono-app", ".wfn", "build");
export const TRIGGERS = join(ROOT, "test", "fixtures", "triggers");
export const TRIGGERS_BUILD = join(TRIGGERS, ".wfn", "build");
export const SCHEDULES_BUILD = join(ROOT, "test", "fixtures", "schedules", ".wfn", "build");
export const QUEUE_WORKER_BUILD = join(ROOT, "examples", "queue-worker", ".wfn", "build");
export const CRON_REPORT_BUILD = join(ROOT, "examples", "cron-report", ".wfn", "build");
export const STORAGE_INDEXER_BUILD = join(ROOT, "examples", "storage-indexer", ".wfn", "build");
export const KV_BUILD = join(ROOT, "test", "fixtures", "kv", ".wfn", "build");
export const QUICKJS_BUILD = join(ROOT, "test", "fixtures", "quickjs", ".wfn", "build");
export const WASI_HTTP = join(ROOT, "test", "fixtures", "wasi-http");
export const WASI_HTTP_BUILD = join(WASI_HTTP, ".wfn", "build");
