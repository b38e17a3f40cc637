// Sends large bodies the way a real client does, a chunk at a time with
// backpressure, without ever holding them whole; and watches a process's
// memory while it happens.
import { request as httpRequest, type Agent, type ClientRequest } from "node:http";
import { readFileSync } from "node:fs";

export interface StreamedAnswer {
  status: number;
  body: string;
  /** How many body bytes were written before the answer came (or the body ended). */
  sent: number;
}

/** A body of `total` bytes: `head`, then `filler` repeated, then `tail`. */
export async function* body(total: number, options: { head?: string | Uint8Array; tail?: string | Uint8Array; filler?: number } = {}): AsyncGenerator<Uint8Array> {
  const head = typeof options.head === "string" ? Buffer.from(options.head) : (options.head ?? new Uint8Array(0));
  const tail = typeof options.tail === "string" ? Buffer.from(options.tail) : (options.tail ?? new Uint8Array(0));
  const chunk = Buffer.alloc(64 * 1024, options.filler ?? 0x61);
  yield head;
  let left = total - head.byteLength - tail.byteLength;
  while (left > 0) {
    const next = Math.min(left, chunk.byteLength);
    yield next === chunk.byteLength ? chunk : chunk.subarray(0, next);
    left -= next;
  }
  yield tail;
}

/**
 * POSTs (or `method`s) a streamed body with chunked transfer encoding (so
 * the server cannot refuse it by its declared length), stopping as soon as
 * the server answers, as a client does when it is refused.
 */
export function streamRequest(
  url: string,
  chunks: AsyncIterable<Uint8Array>,
  options: { method?: string; headers?: Record<string, string>; agent?: Agent; signal?: AbortSignal } = {},
): Promise<StreamedAnswer> {
  return new Promise((resolve, reject) => {
    let sent = 0;
    let answered = false;
    const req = httpRequest(url, { method: options.method ?? "POST", headers: { ...options.headers, "transfer-encoding": "chunked" }, ...(options.agent ? { agent: options.agent } : {}) });
    req.on("response", (response) => {
      answered = true;
      const parts: Buffer[] = [];
      response.on("data", (part: Buffer) => parts.push(part));
      response.on("end", () => {
        resolve({ status: response.statusCode ?? 0, body: Buffer.concat(parts).toString("utf8"), sent });
        // A client that was answered before it finished sending gives up on the rest.
        if (!req.writableFinished) req.destroy();
      });
      response.on("error", reject);
    });
    // A client that gives up half-way: the server sees its connection close under the body.
    options.signal?.addEventListener("abort", () => {
      req.destroy();
      reject(new Error("aborted by the client"));
    });
    // Once answered, a server may close the connection under the rest of the body: that is not a failure.
    req.on("error", (error) => {
      if (!answered) reject(error);
    });
    void (async () => {
      for await (const chunk of chunks) {
        if (answered || req.destroyed) return;
        sent += chunk.byteLength;
        if (!req.write(chunk)) await drained(req);
      }
      if (!req.destroyed) req.end();
    })().catch(reject);
  });
}

/** A multipart/form-data body streamed part by part; a part is a string, bytes, or chunks as they come. */
export async function* multipart(boundary: string, parts: Array<[name: string, value: string | Uint8Array | AsyncIterable<Uint8Array>]>): AsyncGenerator<Uint8Array> {
  for (const [name, value] of parts) {
    yield Buffer.from(`--${boundary}\r\ncontent-disposition: form-data; name="${name}"; filename="${name.split("/").pop()}"\r\ncontent-type: application/octet-stream\r\n\r\n`);
    if (typeof value === "string") yield Buffer.from(value);
    else if (value instanceof Uint8Array) yield value;
    else yield* value;
    yield Buffer.from("\r\n");
  }
  yield Buffer.from(`--${boundary}--\r\n`);
}

/** Resolves when a request can take more, or is gone. */
function drained(req: ClientRequest): Promise<void> {
  return new Promise((resolve) => {
    const done = () => {
      req.off("drain", done);
      req.off("close", done);
      resolve();
    };
    req.on("drain", done);
    req.on("close", done);
  });
}

/** Resident memory of a process (this one by default), in bytes; Linux reads /proc for other processes. */
export function rss(pid?: number): number {
  if (pid === undefined || pid === process.pid) return process.memoryUsage.rss();
  const status = readFileSync(`/proc/${pid}/status`, "utf8");
  const kb = /^VmRSS:\s+(\d+)\s+kB$/m.exec(status);
  if (kb === null) throw new Error(`no VmRSS for process ${pid}`);
  return Number(kb[1]) * 1024;
}

/**
 * Runs `work` while sampling `measure()` every `everyMs`; returns its
 * result and the highest sample above the first. With `limit`, fails as
 * soon as a sample is more than `limit` above the first, rather than
 * waiting for work that may take long precisely because memory is growing.
 */
export async function peakGrowth<T>(measure: () => number, work: () => Promise<T>, options: { everyMs?: number; limit?: number } = {}): Promise<{ result: T; growth: number }> {
  const baseline = measure();
  let peak = baseline;
  let over = () => {};
  const exceeded = new Promise<never>((_, reject) => {
    over = () => reject(new Error(`memory grew by ${Math.round((peak - baseline) / 2 ** 20)} MiB, more than the ${Math.round(options.limit! / 2 ** 20)} MiB allowed`));
  });
  exceeded.catch(() => undefined);
  const timer = setInterval(() => {
    peak = Math.max(peak, measure());
    if (options.limit !== undefined && peak - baseline > options.limit) over();
  }, options.everyMs ?? 20);
  try {
    const result = await Promise.race([work(), exceeded]);
    peak = Math.max(peak, measure());
    return { result, growth: peak - baseline };
  } finally {
    clearInterval(timer);
  }
}
