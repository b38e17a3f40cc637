// Node's `timers` module for function bundles, over the web timers the
// engines provide. `setImmediate` runs the callback after the current
// macrotask, as a zero-delay timer.
const g = globalThis;
export const setTimeout = (...args) => g.setTimeout(...args);
export const clearTimeout = (id) => g.clearTimeout(id);
export const setInterval = (...args) => g.setInterval(...args);
export const clearInterval = (id) => g.clearInterval(id);
export const setImmediate = (callback, ...args) => g.setTimeout(() => callback(...args), 0);
export const clearImmediate = (id) => g.clearTimeout(id);
export default { setTimeout, clearTimeout, setInterval, clearInterval, setImmediate, clearImmediate };
