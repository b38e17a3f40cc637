// The rule for a function's name, in one place. The JSON documents that carry
// it too (runtime/schema/wfn.schema.json, docs/openapi.json) are checked
// against it by test/unit/config.test.ts.

/** Function names: what AWS Lambda accepts for a bare name — letters, digits, "-" and "_", at most 64. */
export const FUNCTION_NAME = "[A-Za-z0-9_-]{1,64}";

/** {@link FUNCTION_NAME}, whole. */
export const FUNCTION_NAME_PATTERN = new RegExp(`^${FUNCTION_NAME}$`);
