// Who may call what: the host's own routes need an admin key (or, when the
// host has none, a loopback client); functions configured with
// `"auth": "key"` need an invoke or admin key. Keys travel as
// `Authorization: Bearer <key>` and are compared in constant time.
import { timingSafeEqual } from "node:crypto";
import type { Context, MiddlewareHandler } from "hono";
import { WfnError } from "../errors.js";
import { errorResponse, remoteAddress } from "../triggers/http.js";
import { bearerToken, secretDigest } from "../util/secrets.js";

export interface Keys {
  admin: readonly string[];
  invoke: readonly string[];
}

/** Host routes anyone may call: liveness, and the storage webhook (it has its own secret). */
const PUBLIC = [/^\/_wfn\/health$/, /^\/_wfn\/events\/storage\/[^/]+$/];

/** Whether an address is this machine. A request with no address was handed to `host.fetch` by the embedding program itself. */
function isLoopback(address: string | undefined): boolean {
  if (address === undefined) return true;
  return address === "::1" || address.startsWith("127.") || address.startsWith("::ffff:127.");
}

/** Guards the host's own routes (everything under /_wfn/ but the public ones). */
export function adminGuard(keys: Keys): MiddlewareHandler<{ Variables: { requestId: string } }> {
  return async (c, next) => {
    if (PUBLIC.some((pattern) => pattern.test(c.req.path))) return next();
    const denied = checkAdmin(c, keys);
    if (denied !== undefined) return errorResponse(denied, c.get("requestId"));
    return next();
  };
}

/** Why a request may not use the host's own routes, or undefined if it may. */
function checkAdmin(c: Context, keys: Keys): WfnError | undefined {
  if (keys.admin.length === 0) {
    if (isLoopback(remoteAddress(c))) return undefined;
    return new WfnError("WFN_FORBIDDEN", "this host has no admin keys, so its admin API answers only clients on the same machine; start it with --admin-key (or WFN_ADMIN_KEYS)");
  }
  const token = bearerToken(c.req.header("authorization"));
  if (token === undefined) return new WfnError("WFN_UNAUTHORIZED", "this route needs an admin key: send Authorization: Bearer <key>");
  if (!matchesAny(token, keys.admin)) return new WfnError("WFN_UNAUTHORIZED", "the key is not an admin key of this host");
  return undefined;
}

/** Why a request may not invoke a function that requires a key, or undefined if it may. */
export function checkInvoke(c: Context, keys: Keys, name: string): WfnError | undefined {
  const token = bearerToken(c.req.header("authorization"));
  if (token === undefined) return new WfnError("WFN_UNAUTHORIZED", `function ${name} needs a key: send Authorization: Bearer <key>`);
  if (!matchesAny(token, keys.invoke) && !matchesAny(token, keys.admin)) return new WfnError("WFN_UNAUTHORIZED", `the key may not invoke function ${name}`);
  return undefined;
}

/** The digests of each configured key list, made once (the lists never change while a host runs). */
const digests = new WeakMap<readonly string[], Buffer[]>();

function matchesAny(token: string, keys: readonly string[]): boolean {
  let known = digests.get(keys);
  if (known === undefined) digests.set(keys, (known = keys.map(secretDigest)));
  const given = secretDigest(token);
  // Compare with every key, so the time taken does not say which one matched.
  let found = false;
  for (const key of known) found = timingSafeEqual(given, key) || found;
  return found;
}
