// core-js-pure ships no declarations; each module's default export is the standard global it implements.
declare module "core-js-pure/actual/atob.js" {
  const atob: typeof globalThis.atob;
  export default atob;
}
declare module "core-js-pure/actual/btoa.js" {
  const btoa: typeof globalThis.btoa;
  export default btoa;
}
declare module "core-js-pure/actual/queue-microtask.js" {
  const queueMicrotask: typeof globalThis.queueMicrotask;
  export default queueMicrotask;
}
declare module "core-js-pure/actual/structured-clone.js" {
  const structuredClone: typeof globalThis.structuredClone;
  export default structuredClone;
}
declare module "core-js-pure/actual/url/index.js" {
  const URL: typeof globalThis.URL;
  export default URL;
}
declare module "core-js-pure/actual/url-search-params/index.js" {
  const URLSearchParams: typeof globalThis.URLSearchParams;
  export default URLSearchParams;
}
