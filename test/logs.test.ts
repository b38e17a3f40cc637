// Guest output becomes log records tagged with the function and the request id.
import { beforeAll, expect, it } from "vitest";
import { APP_BUILD } from "./helpers/paths.js";
import { startHost, type TestHost } from "./helpers/host.js";

let app: TestHost;

beforeAll(async () => {
  app = await startHost({ dir: APP_BUILD });
});

it("captures console output with its level, the function and the request id", async () => {
  const response = await app.get("/echo/log");
  const requestId = response.headers.get("x-wfn-request-id")!;
  expect(await response.text()).toBe(requestId);
  const lines = app.logs.filter((record) => record.requestId === requestId && record.source === "guest");
  expect(lines.map((record) => [record.level, record.message])).toEqual([
    ["info", `log line from ${requestId}`],
    ["warn", "warn line { n: 1 }"],
    ["error", "error line"],
  ]);
  for (const record of lines) expect(record.function).toBe("echo");
});

it("logs a function error with its stack, for the operator", async () => {
  const response = await app.get("/echo/throw");
  const requestId = response.headers.get("x-wfn-request-id")!;
  const record = app.logs.find((r) => r.requestId === requestId && r.level === "error");
  expect(record?.message).toMatch(/^Invoke Error TypeError: boom from the guest\n.*fetch@/s);
});

it("does not mix the lines of concurrent requests", async () => {
  const responses = await Promise.all(Array.from({ length: 6 }, () => app.get("/echo/log")));
  for (const response of responses) {
    const requestId = response.headers.get("x-wfn-request-id")!;
    const mine = app.logs.filter((r) => r.requestId === requestId && r.source === "guest");
    expect(mine).toHaveLength(3);
    expect(mine[0]!.message).toBe(`log line from ${requestId}`);
  }
});
