// Injected into function bundles that call the `setImmediate` or
// `clearImmediate` globals of Node.js, which the engines lack: see ./timers.js.
export { setImmediate, clearImmediate } from "./timers.js";
