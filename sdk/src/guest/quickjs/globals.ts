// The web platform a function author relies on, for the QuickJS engine,
// which has only the JavaScript language: installed on globalThis before the
// function's own module runs (`wfn build` imports this module first). What
// StarlingMonkey has natively, QuickJS gets from here: URL and
// URLSearchParams, structuredClone, atob/btoa and queueMicrotask (core-js,
// which follows the standards closely and is tested against them), and
// TextEncoder/TextDecoder, Headers, Request, Response, crypto and console
// (ours, small), timers (./timers.ts) and fetch() through the host
// (./fetch.ts).
import atob from "core-js-pure/actual/atob.js";
import btoa from "core-js-pure/actual/btoa.js";
import queueMicrotask from "core-js-pure/actual/queue-microtask.js";
import structuredClone from "core-js-pure/actual/structured-clone.js";
import URL from "core-js-pure/actual/url/index.js";
import URLSearchParams from "core-js-pure/actual/url-search-params/index.js";
import { getRandomBytes } from "wasi:random/random@0.2.10";
import { Headers, Request, Response } from "./fetch-api.js";
import { fetch } from "./fetch.js";
import { TextDecoder, TextEncoder } from "./text.js";
import { clearInterval, clearTimeout, setInterval, setTimeout } from "./timers.js";

const INTEGER_ARRAYS = [Int8Array, Uint8Array, Uint8ClampedArray, Int16Array, Uint16Array, Int32Array, Uint32Array, BigInt64Array, BigUint64Array];

/** Fills an integer typed array with cryptographically secure random bytes from the host (at most 65,536 bytes, as the standard says). */
function getRandomValues<T extends ArrayBufferView | null>(array: T): T {
  if (array === null || !INTEGER_ARRAYS.some((kind) => array instanceof kind)) {
    throw new TypeError("crypto.getRandomValues: the argument must be an integer typed array");
  }
  const view = array as ArrayBufferView;
  if (view.byteLength > 65536) throw new RangeError(`crypto.getRandomValues: ${view.byteLength} bytes asked, 65536 at most`);
  // QuickJS passes a u64 as a number.
  const bytes = getRandomBytes(view.byteLength as unknown as bigint);
  new Uint8Array(view.buffer, view.byteOffset, view.byteLength).set(bytes);
  return array;
}

function randomUUID(): string {
  const bytes = getRandomValues(new Uint8Array(16));
  bytes[6] = (bytes[6]! & 0x0f) | 0x40;
  bytes[8] = (bytes[8]! & 0x3f) | 0x80;
  const hex = Array.from(bytes, (byte) => byte.toString(16).padStart(2, "0")).join("");
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${hex.slice(20)}`;
}

const globals: Record<string, unknown> = {
  URL,
  URLSearchParams,
  structuredClone,
  atob,
  btoa,
  queueMicrotask,
  TextEncoder,
  TextDecoder,
  Headers,
  Request,
  Response,
  crypto: { getRandomValues, randomUUID },
  // Replaced by the guest glue with methods that write to the invocation's log.
  console: {},
  fetch,
  setTimeout,
  setInterval,
  clearTimeout,
  clearInterval,
};

for (const [name, value] of Object.entries(globals)) {
  if ((globalThis as Record<string, unknown>)[name] === undefined) {
    Object.defineProperty(globalThis, name, { value, writable: true, configurable: true, enumerable: false });
  }
}
