// Reading request bodies under a limit, for the HTTP trigger and the
// host's APIs: a body over its limit is refused as soon as it passes it,
// and is never held whole in memory.
import type { Context } from "hono";
import { WfnError } from "../errors.js";

export interface Incoming {
  method?: string;
  headers?: Record<string, string | string[] | undefined>;
  rawHeaders?: string[];
  socket?: { remoteAddress?: string };
  [Symbol.asyncIterator]?: unknown;
  iterator?: (options: { destroyOnReturn: boolean }) => AsyncIterable<Uint8Array>;
}

/** Node's IncomingMessage, when the request came through @hono/node-server. */
export function incoming(c: Context): Incoming | undefined {
  return (c.env as { incoming?: Incoming } | undefined)?.incoming;
}

export function tooLarge(size: number, limit: number): WfnError {
  return new WfnError("WFN_PAYLOAD_TOO_LARGE", `Request must be smaller than ${limit} bytes (got ${size} or more)`, { details: { limit } });
}

/** Header pairs exactly as received (duplicates kept apart), when the Node server exposes them. */
export function rawHeaders(c: Context): Array<[string, string]> | undefined {
  const raw = incoming(c)?.rawHeaders;
  if (raw === undefined) return undefined;
  const pairs: Array<[string, string]> = [];
  for (let i = 0; i + 1 < raw.length; i += 2) pairs.push([raw[i]!.toLowerCase(), raw[i + 1]!]);
  return pairs;
}

/**
 * Reads a request's body whole, refusing it with 413 (`what` names it in
 * the message) as soon as the declared length or the bytes received pass
 * `limit`: a body over the limit is never held in memory.
 */
export async function readRequestBody(c: Context, limit: number, what = "Request"): Promise<Uint8Array> {
  const refuse = (size: number) => new WfnError("WFN_PAYLOAD_TOO_LARGE", `${what} must be smaller than ${limit} bytes (got ${size} or more)`, { details: { limit } });
  const declared = Number(c.req.header("content-length") ?? "0");
  if (declared > limit) throw refuse(declared);
  const body = requestBody(c);
  return body === null ? new Uint8Array(0) : readChunks(body, limit, refuse);
}

/**
 * The body of a request as it arrives. Under @hono/node-server, Node's
 * message itself, iterated so that a reader which stops early (a body over
 * its limit) leaves it open: the rest is drained after the response and the
 * connection stays usable. Destroying it would reset the connection under
 * the client's next request; a web stream over it would stall the drain.
 */
export function requestBody(c: Context): AsyncIterable<Uint8Array> | null {
  const node = incoming(c);
  if (typeof node?.iterator === "function") return node.iterator({ destroyOnReturn: false });
  return c.req.raw.body;
}

/**
 * Reads a body into one buffer, giving up (with `refuse(size so far)`) as
 * soon as it passes `limit` bytes, so an oversized body is never buffered whole.
 */
export async function readChunks(source: AsyncIterable<Uint8Array>, limit: number, refuse: (size: number) => Error = (size) => tooLarge(size, limit)): Promise<Uint8Array> {
  const chunks: Uint8Array[] = [];
  let size = 0;
  for await (const chunk of source) {
    size += chunk.byteLength;
    if (size > limit) throw refuse(size);
    chunks.push(chunk);
  }
  // Joined into a buffer of its own rather than with Buffer.concat, whose small results share
  // Node's allocation pool: the body is transferred to an executor, buffer and all.
  if (chunks.length === 0) return new Uint8Array(0);
  if (chunks.length === 1 && chunks[0]!.byteOffset === 0 && chunks[0]!.byteLength === chunks[0]!.buffer.byteLength) return chunks[0]!;
  const body = new Uint8Array(size);
  let offset = 0;
  for (const chunk of chunks) {
    body.set(chunk, offset);
    offset += chunk.byteLength;
  }
  return body;
}
