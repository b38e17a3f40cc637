// The closed error table: every code answers with its own status, type and
// headers, and docs/embedding.md lists each exactly as the table has it.
import { readFileSync } from "node:fs";
import { describe, expect, it } from "vitest";
import { ERROR_CODES, WfnError, errorKind } from "../../runtime/src/errors.js";
import { errorResponse, functionErrorResponse } from "../../runtime/src/http/errors.js";

const docs = readFileSync(new URL("../../docs/embedding.md", import.meta.url), "utf8");

describe("the error table", () => {
  it("is documented row by row in docs/embedding.md", () => {
    for (const code of ERROR_CODES) {
      const kind = errorKind(code);
      expect(docs, code).toContain(`| \`${code}\` | ${kind.status} | \`${kind.lambdaType}\` | ${kind.fault} |`);
    }
  });

  it("renders every code's answer from the table, headers included", async () => {
    for (const code of ERROR_CODES) {
      const response = errorResponse(new WfnError(code, "because"), "req-1");
      expect(response.status).toBe(errorKind(code).status);
      expect(await response.json()).toEqual({ errorType: errorKind(code).lambdaType, errorMessage: "because", requestId: "req-1" });
      for (const [name, value] of Object.entries(errorKind(code).headers ?? {})) expect(response.headers.get(name)).toBe(value);
    }
    expect(errorResponse(new WfnError("WFN_THROTTLED"), "r").headers.get("retry-after")).toBe("1");
    expect(errorResponse(new WfnError("WFN_TIMED_OUT"), "r").headers.get("retry-after")).toBeNull();
  });

  it("answers a function's own error with its type and WFN_FUNCTION_ERROR's status", async () => {
    const response = functionErrorResponse({ errorType: "TypeError", message: "x is undefined", stack: undefined }, "req-2");
    expect(response.status).toBe(500);
    expect(await response.json()).toEqual({ errorType: "TypeError", errorMessage: "x is undefined", requestId: "req-2" });
  });
});
