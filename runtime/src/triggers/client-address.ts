// Who sent a request: the address of the connection's peer, or — behind a
// reverse proxy on this machine that the operator told the host to trust —
// the client the proxy names. Used for functions' source address and for
// the keyless admin API's "same machine" rule.
import type { Context } from "hono";
import { GUEST_REQUEST_HEADER } from "../outbound/protocol.js";

/** What is known of a request's sender. */
export interface ClientAddress {
  /** The client's IP address; undefined when unknown (a request handed to `host.fetch`, a Unix socket). */
  address: string | undefined;
  /** Whether a proxy the host does not trust forwarded the request (it carries forwarding headers). */
  forwarded: boolean;
  /** Whether a function running on a wfn host made the request (it carries `x-wfn-guest`). */
  fromGuest: boolean;
}

/** Headers a proxy adds when it forwards a request. */
const FORWARDING = ["forwarded", "via", "x-real-ip", "x-client-ip", "true-client-ip", "cf-connecting-ip"];

/** Whether an address is this machine (`127.0.0.0/8`, `::1`, and their IPv4-mapped forms). */
export function isLoopback(address: string | undefined): boolean {
  if (address === undefined) return false;
  return address === "::1" || address.startsWith("127.") || address.startsWith("::ffff:127.");
}

/**
 * The sender of a request. With `trustProxy`, a request whose peer is on
 * this machine and that carries forwarding headers is taken to come from the
 * client they name (the right-most entry: the one the proxy itself added).
 */
export function clientAddress(c: Context, trustProxy: boolean): ClientAddress {
  const incoming = (c.env as { incoming?: { socket?: { remoteAddress?: string }; [FORWARDED_PEER]?: string } } | undefined)?.incoming;
  return clientAddressOf(incoming?.[FORWARDED_PEER] ?? incoming?.socket?.remoteAddress, c.req.raw.headers, trustProxy);
}

/** Where the main thread keeps the peer of a request an executor forwarded (the connection's own peer is the executor). */
export const FORWARDED_PEER = Symbol("wfn.forwardedPeer");
/** Where the main thread keeps the draw an executor made for a weighted alias before forwarding (see InvokeOptions.draw). */
export const FORWARDED_DRAW = Symbol("wfn.forwardedDraw");
/** Where the main thread keeps the index of the executor that forwarded a request it had no instance for (see InvokeOptions.origin). */
export const FORWARDED_ORIGIN = Symbol("wfn.forwardedOrigin");

/** Request headers, as {@link clientAddressOf} reads them. */
export interface HeaderView {
  get(name: string): string | null;
  has(name: string): boolean;
  keys(): Iterable<string>;
}

/** {@link clientAddress} from a connection's peer and a request's headers. */
export function clientAddressOf(peer: string | undefined, headers: HeaderView, trustProxy: boolean): ClientAddress {
  const fromGuest = headers.has(GUEST_REQUEST_HEADER);
  const forwarded = FORWARDING.some((name) => headers.has(name)) || [...headers.keys()].some((name) => name.startsWith("x-forwarded-"));
  if (!forwarded) return { address: peer, forwarded: false, fromGuest };
  if (!trustProxy || !isLoopback(peer)) return { address: peer, forwarded: true, fromGuest };
  return { address: forwardedClient(headers), forwarded: false, fromGuest };
}

/** The client a trusted proxy names: `X-Forwarded-For`, else `Forwarded: for=`, else `X-Real-IP`. */
function forwardedClient(headers: HeaderView): string | undefined {
  const xff = headers.get("x-forwarded-for");
  if (xff !== null) return bare(xff.split(",").at(-1)!);
  const standard = headers.get("forwarded");
  if (standard !== null) {
    const last = standard.split(",").at(-1)!;
    const match = /(?:^|;)\s*for=("?)([^";,]+)\1/i.exec(last);
    return match === null ? undefined : bare(match[2]!);
  }
  const real = headers.get("x-real-ip");
  return real === null ? undefined : bare(real);
}

/** An address without brackets or port (`[::1]:443` → `::1`, `203.0.113.5:80` → `203.0.113.5`); undefined for `unknown` or obfuscated names. */
function bare(value: string): string | undefined {
  let text = value.trim();
  if (text.startsWith("[")) text = text.slice(1, text.indexOf("]") === -1 ? undefined : text.indexOf("]"));
  else if (/^\d+\.\d+\.\d+\.\d+:\d+$/.test(text)) text = text.slice(0, text.lastIndexOf(":"));
  if (text === "" || text.toLowerCase() === "unknown" || text.startsWith("_")) return undefined;
  return text;
}
