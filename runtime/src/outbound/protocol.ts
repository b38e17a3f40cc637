// A guest's outbound request and its reply, as the transport sees them, and
// the headers by which the host marks outbound requests and the answers it
// makes up.
import type { HttpErrorCode } from "../sandbox/capabilities/http.js";

/**
 * Set on every outbound request to the name of the function that made it
 * (a value the guest set is replaced), so that a server, the host's own
 * included, can tell a request made by a guest.
 */
export const GUEST_REQUEST_HEADER = "x-wfn-guest";

/** On a request sent to another origin by HostOptions.outboundRoutes: the origin the guest asked for. */
export const ROUTED_FROM_HEADER = "x-wfn-outbound-origin";

/** On the synthetic 403 a denied request gets; the SDK turns it into a thrown TypeError. */
export const DENIED_HEADER = "x-wfn-outbound-denied";

/**
 * On the synthetic 502 a failed request gets when the guest asked for it with
 * {@link EXPLAIN_HEADER}; the SDK turns it into a thrown TypeError. (StarlingMonkey
 * reports every wasi:http error code as a bare "NetworkError".)
 */
export const FAILED_HEADER = "x-wfn-outbound-failed";

/** Sent by the SDK's fetch: "answer a failure with a response carrying {@link FAILED_HEADER}, not an error code". Never leaves the host. */
export const EXPLAIN_HEADER = "x-wfn-outbound-explain";

export interface OutboundRequest {
  /** The function making the request: names its connection pool and goes in {@link GUEST_REQUEST_HEADER}. */
  functionName: string;
  method: string;
  url: string;
  headers: Array<[string, string]>;
  body: Uint8Array;
  /** Give up after this long, in ms. */
  timeoutMs: number;
  maxResponseBytes: number;
}

export type OutboundReply =
  | { status: number; headers: Array<[string, string]>; body: Uint8Array }
  /** `reason` says what went wrong in plain words, for the log and the guest. */
  | { error: HttpErrorCode; reason: string };
