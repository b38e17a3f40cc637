// Where a served host's connections are accepted: by its executors (each
// listens on the port with `reusePort` and serves routed requests on the
// instances lent to it), or by the main thread. serve() asks the host
// through these keys; they are not part of the public Host interface.
// What executors forward comes to the main thread's own server with a
// header proving where it came from: `adoptForwarded` reads and strips it.
import type { IncomingMessage } from "node:http";
import { timingSafeEqual } from "node:crypto";
import { FORWARD_HEADER } from "./pool/executor-http.js";
import { FORWARDED_DRAW, FORWARDED_ORIGIN, FORWARDED_PEER } from "./triggers/client-address.js";

/** Has the host's executors accept connections: `(settings) => Promise<port>`. */
export const ACCEPT_IN_EXECUTORS = Symbol("wfn.acceptInExecutors");
/** Has them stop. */
export const STOP_ACCEPTING = Symbol("wfn.stopAccepting");

/**
 * On the main thread's server: a request an executor forwarded carries its
 * client's address (and the draw for a weighted alias) in a header signed
 * with the host's secret. It is taken from there and the header removed; a
 * header with the wrong secret is removed and ignored (the request is then
 * what its connection says: from this machine).
 */
export function adoptForwarded(req: IncomingMessage, secret: Buffer): void {
  const value = req.headers[FORWARD_HEADER];
  if (value === undefined) return;
  delete req.headers[FORWARD_HEADER];
  const raw = req.rawHeaders;
  for (let i = raw.length - 2; i >= 0; i -= 2) if (raw[i]!.toLowerCase() === FORWARD_HEADER) raw.splice(i, 2);
  const [given, peer, draw, origin] = (Array.isArray(value) ? value[0]! : value).split(" ");
  const proof = Buffer.from(given ?? "");
  if (proof.length !== secret.length || !timingSafeEqual(proof, secret)) return;
  const target = req as unknown as { [FORWARDED_PEER]?: string; [FORWARDED_DRAW]?: number; [FORWARDED_ORIGIN]?: number };
  if (peer !== undefined && peer !== "-") target[FORWARDED_PEER] = peer;
  const number = Number(draw);
  if (draw !== "-" && number >= 0 && number < 1) target[FORWARDED_DRAW] = number;
  const index = Number(origin);
  if (origin !== undefined && origin !== "-" && Number.isSafeInteger(index) && index >= 0) target[FORWARDED_ORIGIN] = index;
}
