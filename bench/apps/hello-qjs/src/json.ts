// The CPU-heavy bench function, the same source, on QuickJS.
export { default } from "../../hello/src/json.js";
