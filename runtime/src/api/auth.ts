// Who may call what: the host's own routes need an admin key — or, on a
// host without admin keys, a direct connection from this machine (never a
// forwarded one, never a guest's, never one whose origin is unknown) unless
// the embedder vouches for every request itself; functions configured with
// `"auth": "key"` need an invoke or admin key. Keys travel as
// `Authorization: Bearer <key>` and are compared in constant time.
import { timingSafeEqual } from "node:crypto";
import type { Context, MiddlewareHandler } from "hono";
import { WfnError } from "../errors.js";
import { clientAddress, isLoopback } from "../triggers/client-address.js";
import { errorResponse } from "../http/errors.js";
import { bearerToken, secretDigest } from "../util/secrets.js";

export interface Keys {
  admin: readonly string[];
  invoke: readonly string[];
}

/** How the host decides who may use its admin API. */
export interface AccessPolicy {
  keys: Keys;
  /** Keyless admin requests are admitted whatever their origin (the embedding program authenticates them). */
  trustUnauthenticated: boolean;
  /** A reverse proxy on this machine names the client (see triggers/client-address.ts). */
  trustProxy: boolean;
}

/** Host routes anyone may call: liveness, and the storage webhook (it has its own secret). */
const PUBLIC = [/^\/_wfn\/health$/, /^\/_wfn\/ready$/, /^\/_wfn\/events\/storage\/[^/]+$/];

/** Guards the host's own routes (everything under /_wfn/ but the public ones). */
export function adminGuard(policy: AccessPolicy): MiddlewareHandler<{ Variables: { requestId: string } }> {
  return async (c, next) => {
    if (PUBLIC.some((pattern) => pattern.test(c.req.path))) return next();
    const denied = checkAdmin(c, policy);
    if (denied !== undefined) return errorResponse(denied, c.get("requestId"));
    return next();
  };
}

/** Why a request may not use the host's own routes, or undefined if it may. */
function checkAdmin(c: Context, policy: AccessPolicy): WfnError | undefined {
  const { keys } = policy;
  if (keys.admin.length > 0) {
    const token = bearerToken(c.req.header("authorization"));
    if (token === undefined) return new WfnError("WFN_UNAUTHORIZED", "this route needs an admin key: send Authorization: Bearer <key>");
    if (!matchesAny(token, keys.admin)) return new WfnError("WFN_UNAUTHORIZED", "the key is not an admin key of this host");
    return undefined;
  }
  const client = clientAddress(c, policy.trustProxy);
  if (client.fromGuest) return new WfnError("WFN_FORBIDDEN", "functions may not call the admin API of a host without admin keys");
  if (policy.trustUnauthenticated) return undefined;
  if (client.address === undefined) {
    return new WfnError(
      "WFN_FORBIDDEN",
      "this host has no admin keys and cannot tell where this request came from (handed to host.fetch, or received on a Unix socket); give it an admin key, or set admin.trustUnauthenticated if the embedding program authenticates requests itself",
    );
  }
  if (client.forwarded) {
    return new WfnError(
      "WFN_FORBIDDEN",
      "this host has no admin keys, so its admin API answers only direct connections from the same machine, and this request was forwarded by a proxy; give the host an admin key (--admin-key), or trust a proxy on this machine with --trust-proxy",
    );
  }
  if (!isLoopback(client.address)) {
    return new WfnError("WFN_FORBIDDEN", "this host has no admin keys, so its admin API answers only clients on the same machine; start it with --admin-key (or WFN_ADMIN_KEYS)");
  }
  return undefined;
}

/** Whether the request carries an invoke or admin key of this host. */
export function hasInvokeKey(c: Context, keys: Keys): boolean {
  return authorizationAllows(c.req.header("authorization"), keys);
}

/** Why a request may not invoke a function that requires a key, or undefined if it may. */
export function checkInvoke(c: Context, keys: Keys, name: string): WfnError | undefined {
  const token = bearerToken(c.req.header("authorization"));
  if (token === undefined) return new WfnError("WFN_UNAUTHORIZED", `function ${name} needs a key: send Authorization: Bearer <key>`);
  if (!matchesAny(token, keys.invoke) && !matchesAny(token, keys.admin)) return new WfnError("WFN_UNAUTHORIZED", `the key may not invoke function ${name}`);
  return undefined;
}

/** Whether an `Authorization` header carries an invoke or admin key of this host. */
export function authorizationAllows(authorization: string | undefined, keys: Keys): boolean {
  const token = bearerToken(authorization);
  return token !== undefined && (matchesAny(token, keys.invoke) || matchesAny(token, keys.admin));
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

/**
 * Why an Invoke API caller may not invoke a function, or undefined if it
 * may. `needsKey` says whether the function (with that qualifier) needs a
 * key, undefined when there is no such function. On a host with keys, a
 * caller without a valid key learns nothing of which functions exist: a
 * missing one is refused as a keyed one is.
 */
export function invokeDenied(c: Context, keys: Keys, name: string, needsKey: boolean | undefined): WfnError | undefined {
  if (hasInvokeKey(c, keys)) return undefined;
  if (needsKey === false || (needsKey === undefined && keys.admin.length + keys.invoke.length === 0)) return undefined;
  const given = c.req.header("authorization") !== undefined;
  return new WfnError(
    "WFN_UNAUTHORIZED",
    given ? `the key may not invoke function ${name}, or there is no such function` : `function ${name} needs a key, or does not exist: send Authorization: Bearer <key>`,
  );
}
