// The benchmark's hello function, the same source, on QuickJS (a project of its own so that
// `wfn serve bench/apps/hello` holds only StarlingMonkey functions).
export { default } from "../../hello/src/hello.js";
