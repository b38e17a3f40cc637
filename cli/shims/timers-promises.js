// Node's `timers/promises` for function bundles: the promise forms of the
// timers, with `signal` to cancel them as in Node.js.
function delay(ms, value, options) {
  const signal = options?.signal;
  return new Promise((resolve, reject) => {
    if (signal?.aborted) return reject(abortError(signal));
    const id = globalThis.setTimeout(() => {
      signal?.removeEventListener?.("abort", onAbort);
      resolve(value);
    }, ms);
    function onAbort() {
      globalThis.clearTimeout(id);
      reject(abortError(signal));
    }
    signal?.addEventListener?.("abort", onAbort, { once: true });
  });
}
function abortError(signal) {
  const error = new Error("The operation was aborted", { cause: signal?.reason });
  error.name = "AbortError";
  error.code = "ABORT_ERR";
  return error;
}
export const setTimeout = (ms, value, options) => delay(ms ?? 1, value, options);
export const setImmediate = (value, options) => delay(0, value, options);
export const scheduler = { wait: (ms, options) => delay(ms, undefined, options), yield: () => delay(0) };
export default { setTimeout, setImmediate, scheduler };
