// Injected into function bundles that use the `Buffer` global (common in code
// written for Node.js and AWS Lambda): the `buffer` package, the browser
// implementation of Node's Buffer. Only bundled when the code refers to Buffer.
export { Buffer } from "buffer/";
