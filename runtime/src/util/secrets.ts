// Comparing secrets without leaking, through timing, how much of a guess was right.
import { createHash, timingSafeEqual } from "node:crypto";

/** A secret's SHA-256: fixed-length, so digests compare in constant time whatever the secrets' lengths. */
export function secretDigest(secret: string): Buffer {
  return createHash("sha256").update(secret).digest();
}

/** Whether `given` equals `expected`, in time that does not depend on where they differ. */
export function safeEqual(given: string, expected: string): boolean {
  return timingSafeEqual(secretDigest(given), secretDigest(expected)) && given.length === expected.length;
}

/** The token of an `Authorization: Bearer <token>` header (or the bare header). */
export function bearerToken(header: string | undefined): string | undefined {
  if (header === undefined) return undefined;
  const match = /^Bearer\s+(.+)$/i.exec(header.trim());
  return match ? match[1]! : header.trim();
}

/**
 * A configured secret: the literal value, or for `env:NAME` the host's
 * environment variable NAME (undefined when it is not set).
 */
export function configuredSecret(value: string): string | undefined {
  if (!value.startsWith("env:")) return value;
  const found = process.env[value.slice(4)];
  return found === undefined || found === "" ? undefined : found;
}
