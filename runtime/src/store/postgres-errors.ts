// The PostgreSQL store's failures in words: what pg throws, read for a full
// disk and an unreachable server; URLs shown without their password.
import { isWfnError, WfnError } from "../errors.js";

/** A store URL as shown in messages, logs and the banner: its password masked, its parameters (which may carry one) left out. */
export function redactStoreUrl(url: string): string {
  try {
    const parsed = new URL(url);
    if (parsed.password !== "") parsed.password = "***";
    parsed.search = "";
    return parsed.toString();
  } catch {
    return "(not a URL)";
  }
}

export function reason(error: unknown): string {
  if (!(error instanceof Error)) return String(error);
  // An AggregateError (every address refused) has no message of its own.
  return error.message || String((error as NodeJS.ErrnoException).code ?? error.name);
}

const CONNECTION_ERRNOS = new Set(["ECONNREFUSED", "ECONNRESET", "ENOTFOUND", "EAI_AGAIN", "ETIMEDOUT", "EHOSTUNREACH", "ENETUNREACH", "EPIPE"]);

/** Whether `error` says the server could not be reached or let go of the connection. */
export function isConnectionFailure(error: unknown): boolean {
  const code = (error as { code?: unknown } | null)?.code;
  if (typeof code === "string" && (CONNECTION_ERRNOS.has(code) || /^(08|28|57P0[123]|3D000)/.test(code))) return true;
  return error instanceof Error && /Connection terminated|timeout exceeded when trying to connect|Client has encountered a connection error/.test(error.message);
}

/**
 * The PostgreSQL counterpart of ./failures.ts's storeFailure: a full disk
 * (SQLSTATE 53100) as WFN_DISK_FULL, an unreachable server in words; any
 * other error as it is.
 */
export function pgFailure(error: unknown, where: string): unknown {
  if (isWfnError(error)) return error;
  if ((error as { code?: unknown } | null)?.code === "53100") {
    return new WfnError("WFN_DISK_FULL", `the PostgreSQL server of the host's store (${where}) is out of disk space; free space there, then retry`, { cause: error });
  }
  if (isConnectionFailure(error)) {
    return new WfnError("WFN_INTERNAL", `the host's store ${where} cannot be reached: ${reason(error)}`, { cause: error, details: { store: where } });
  }
  return error;
}
