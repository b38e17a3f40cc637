// Injected into function bundles that refer to the `process` global (common
// in npm packages): see ./process.js.
export { default as process } from "./process.js";
