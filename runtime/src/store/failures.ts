// The store's own failures, read from what node:sqlite and node:fs throw.

/** The primary SQLite result code of a node:sqlite error, if it is one. */
export function sqliteCode(error: unknown): number | undefined {
  const code = (error as { errcode?: unknown } | null)?.errcode;
  return typeof code === "number" ? code & 0xff : undefined;
}
