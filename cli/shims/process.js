// Node's `process`, for function bundles whose code (or whose npm packages)
// use it: `import process from "node:process"` resolves here, and the
// `process` global is injected from ./process-global.js when the bundle
// refers to it. wfn functions are not Node.js: `version` and `versions.node`
// are empty, so packages that test for Node take their browser path.
// Lambda-style functions already have `globalThis.process` (its `env` is
// filled for each invocation): it is extended, not replaced.
const target = globalThis.process ?? {};
const noop = () => target;
const now = () => globalThis.performance?.now() ?? Date.now();
const unavailable = (name) => () => {
  const error = new Error(`process.${name}() is not available in wfn functions`);
  error.code = "ERR_FEATURE_UNAVAILABLE_ON_PLATFORM";
  throw error;
};
const defaults = {
  env: {},
  argv: [],
  execArgv: [],
  version: "",
  versions: {},
  title: "wfn",
  browser: true,
  pid: 1,
  arch: "wasm32",
  nextTick: (callback, ...args) => queueMicrotask(() => callback(...args)),
  cwd: () => "/",
  chdir: unavailable("chdir"),
  exit: unavailable("exit"),
  abort: unavailable("abort"),
  umask: () => 0,
  uptime: () => now() / 1000,
  hrtime: Object.assign(
    (previous) => {
      const ms = now();
      let seconds = Math.floor(ms / 1000);
      let nanos = Math.floor((ms % 1000) * 1e6);
      if (previous) {
        seconds -= previous[0];
        nanos -= previous[1];
        if (nanos < 0) {
          seconds -= 1;
          nanos += 1e9;
        }
      }
      return [seconds, nanos];
    },
    { bigint: () => BigInt(Math.floor(now() * 1e6)) },
  ),
  memoryUsage: () => ({ rss: 0, heapTotal: 0, heapUsed: 0, external: 0, arrayBuffers: 0 }),
  emitWarning: (warning) => console.warn(typeof warning === "string" ? `Warning: ${warning}` : warning),
  on: noop,
  once: noop,
  off: noop,
  addListener: noop,
  removeListener: noop,
  removeAllListeners: noop,
  prependListener: noop,
  prependOnceListener: noop,
  emit: () => false,
  listeners: () => [],
  listenerCount: () => 0,
};
for (const [key, value] of Object.entries(defaults)) if (!(key in target)) target[key] = value;

export default target;
export const { env, argv, version, versions, nextTick, cwd, hrtime, emitWarning, exit } = target;
