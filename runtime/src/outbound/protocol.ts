// Messages between executors and the outbound-HTTP thread.
import type { HttpErrorCode } from "../sandbox/capabilities/http.js";

export interface OutboundRequest {
  id: number;
  /** Connection pools are per function. */
  pool: string;
  method: string;
  url: string;
  headers: Array<[string, string]>;
  body: Uint8Array;
  /** Give up after this long, in ms. */
  timeoutMs: number;
  maxResponseBytes: number;
}

export type OutboundReply =
  | { id: number; status: number; headers: Array<[string, string]>; body: Uint8Array }
  | { id: number; error: HttpErrorCode };

/**
 * Header the host puts on every request a guest makes (its value: the
 * function's name; one the guest set is replaced). The host's own admin API
 * refuses requests carrying it, so no guest reaches it, whatever its allow-list.
 */
export const GUEST_REQUEST_HEADER = "x-wfn-guest";
