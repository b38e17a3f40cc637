// Result classification on its own: how each way a call can end becomes the
// result triggers answer with, the host's error line and the REPORT facts.
import { describe, expect, it } from "vitest";
import { classify, type InvocationFacts } from "../../runtime/src/invoke/classify.js";
import type { ScheduledResult } from "../../runtime/src/pool/pool.js";
import type { CallResult } from "../../runtime/src/sandbox/instance.js";

const facts: InvocationFacts = { requestId: "req-1", functionName: "f", functionVersion: "$LATEST", memoryMB: 128, maxResponseBytes: 100 };

function done(result: Partial<CallResult>): ScheduledResult {
  const call = { status: "ok", outcome: { tag: "payload", val: new Uint8Array(2) }, logs: [{ level: "info", message: "hi", time: 1 }], durationMs: 12.5, memoryBytes: 4096, ...result } as CallResult;
  return { status: "done", result: call, coldStart: true, initMs: 9 };
}

describe("classify", () => {
  it("passes an answer through with its logs and REPORT facts", () => {
    const classified = classify(done({}), facts);
    expect(classified.result).toMatchObject({ status: "ok", requestId: "req-1", durationMs: 12.5, coldStart: true, initMs: 9 });
    expect(classified).toMatchObject({ durationMs: 12.5, memoryUsedBytes: 4096, timedOut: false, guestLogs: [{ message: "hi" }] });
    expect(classified.hostError).toBeUndefined();
  });

  it("fails a result over maxResponseBytes, counting an HTTP response's headers", () => {
    const body = classify(done({ outcome: { tag: "payload", val: new Uint8Array(101) } }), facts);
    expect(body.result).toMatchObject({ status: "failed", error: { code: "WFN_RESPONSE_TOO_LARGE" } });
    expect(body.errorType).toBe("Function.ResponseSizeTooLarge");
    const headers = classify(done({ outcome: { tag: "http", val: { status: 200, headers: [["x-big", "v".repeat(90)]], body: new Uint8Array(10) } } }), facts);
    expect(headers.result.status).toBe("failed");
    const fits = classify(done({ outcome: { tag: "http", val: { status: 200, headers: [["x", "y"]], body: new Uint8Array(10) } } }), facts);
    expect(fits.result.status).toBe("ok");
  });

  it("reports the function's own error with its type and stack on the host's line", () => {
    const classified = classify(done({ status: "error", error: { errorType: "TypeError", message: "boom", stack: "at f (index.js:1)\n" } }), facts);
    expect(classified.result).toMatchObject({ status: "error", error: { errorType: "TypeError" } });
    expect(classified.hostError).toBe("Invoke Error TypeError: boom\nat f (index.js:1)");
    expect(classified.errorType).toBe("TypeError");
  });

  it("tells running out of memory from another trap", () => {
    const oom = classify(done({ status: "trap", message: "unreachable", outOfMemory: true }), facts);
    expect(oom.result).toMatchObject({ status: "failed", error: { code: "WFN_OUT_OF_MEMORY" } });
    expect(oom.hostError).toContain("out of memory (limit 128 MB)");
    const trap = classify(done({ status: "trap", message: "unreachable", outOfMemory: false }), facts);
    expect(trap.result).toMatchObject({ status: "failed", error: { code: "WFN_GUEST_TRAP" } });
    expect(trap.errorType).toBe("Runtime.ExitError");
  });

  it("reports a timeout in Lambda's words, with no guest logs and no memory figure", () => {
    const classified = classify({ status: "timeout", elapsedMs: 3004, coldStart: false, initMs: undefined }, facts);
    expect(classified.result).toMatchObject({ status: "failed", durationMs: 3004, error: { code: "WFN_TIMED_OUT" } });
    expect(classified.hostError).toBe("RequestId: req-1 Error: Task timed out after 3.00 seconds");
    expect(classified).toMatchObject({ timedOut: true, memoryUsedBytes: undefined, guestLogs: [], errorType: "Sandbox.Timedout" });
  });
});
