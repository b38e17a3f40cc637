// Node's `assert/strict` for function bundles: the strict mode of the
// `assert` package.
import assert from "assert/";
export default assert.strict;
