// Trigger configuration that needs no component: schedule expressions,
// queue declarations and the cross-checks between functions and queues.
import { describe, expect, it } from "vitest";
import { checkAppConfig, checkFunctionConfig, parseSchedule, resolveFunctionConfig, resolveQueueConfig, validateProjectDocument, type Schedule } from "../../runtime/src/index.js";

const at = (iso: string) => Date.parse(iso);
const iso = (ms: number | undefined) => (ms === undefined ? undefined : new Date(ms).toISOString());

function schedule(expression: string, timezone?: string): Schedule {
  const parsed = parseSchedule(expression, timezone);
  if (typeof parsed === "string") throw new Error(parsed);
  return parsed;
}

describe("schedule expressions", () => {
  it("reads rates, aligned to the epoch so every host agrees", () => {
    expect(iso(schedule("rate(5 minutes)").next(at("2026-03-01T10:02:10Z")))).toBe("2026-03-01T10:05:00.000Z");
    expect(iso(schedule("rate(1 minute)").next(at("2026-03-01T10:02:00Z")))).toBe("2026-03-01T10:03:00.000Z");
    expect(iso(schedule("rate(1 second)").next(at("2026-03-01T10:02:00.400Z")))).toBe("2026-03-01T10:02:01.000Z");
    expect(iso(schedule("rate(2 hours)").previous(at("2026-03-01T11:30:00Z")))).toBe("2026-03-01T10:00:00.000Z");
    expect(iso(schedule("rate(1 day)").next(at("2026-03-01T10:00:00Z")))).toBe("2026-03-02T00:00:00.000Z");
  });

  it("reads EventBridge cron, with day-of-week 1-7 meaning Sunday to Saturday and ? for 'any'", () => {
    expect(iso(schedule("cron(0 12 * * ? *)").next(at("2026-03-01T12:00:00Z")))).toBe("2026-03-02T12:00:00.000Z");
    // 2026-03-02 is a Monday; MON-FRI written as 2-6.
    expect(iso(schedule("cron(15 8 ? * 2-6 *)").next(at("2026-02-28T00:00:00Z")))).toBe("2026-03-02T08:15:00.000Z");
    expect(iso(schedule("cron(15 8 ? * MON-FRI *)").next(at("2026-02-28T00:00:00Z")))).toBe("2026-03-02T08:15:00.000Z");
    // 1 = Sunday.
    expect(iso(schedule("cron(0 0 ? * 1 *)").next(at("2026-03-02T00:00:00Z")))).toBe("2026-03-08T00:00:00.000Z");
  });

  it("reads 5-field cron, 6-field cron with seconds, and time zones", () => {
    expect(iso(schedule("*/5 * * * *").next(at("2026-03-01T10:02:10Z")))).toBe("2026-03-01T10:05:00.000Z");
    expect(iso(schedule("*/10 * * * * *").next(at("2026-03-01T10:02:11Z")))).toBe("2026-03-01T10:02:20.000Z");
    // 02:30 in Paris is 01:30 UTC in winter.
    expect(iso(schedule("cron(30 2 * * ? *)", "Europe/Paris").next(at("2026-01-10T00:00:00Z")))).toBe("2026-01-10T01:30:00.000Z");
    expect(iso(schedule("0 9 * * *", "America/New_York").next(at("2026-07-01T00:00:00Z")))).toBe("2026-07-01T13:00:00.000Z");
  });

  it("explains what is wrong with a bad expression", () => {
    expect(parseSchedule("rate(5 fortnights)")).toMatch(/is not a rate: use rate\(<n> seconds\|minutes\|hours\|days\)/);
    expect(parseSchedule("rate(0 minutes)")).toMatch(/the rate must be at least 1/);
    expect(parseSchedule("cron(0 12 * * ?)")).toMatch(/an EventBridge cron has 6 fields/);
    expect(parseSchedule("cron(0 12 * * ? 2030)")).toMatch(/only \* is supported in the year field/);
    expect(parseSchedule("every day")).toMatch(/is not a schedule: use rate\(5 minutes\), cron\(0 12 \* \* \? \*\)/);
    expect(parseSchedule("61 * * * *")).toEqual(expect.stringContaining('"61 * * * *"'));
    expect(parseSchedule("0 9 * * *", "Mars/Olympus")).toBe('"Mars/Olympus" is not a time zone: use an IANA name such as "Europe/Paris" or "UTC"');
  });
});

describe("trigger configuration", () => {
  it("fills in trigger defaults and short forms", () => {
    const config = resolveFunctionConfig({ entry: "a.ts", queue: "jobs", schedule: "rate(5 minutes)", storage: { secret: "12345678" } });
    expect(config.queue).toEqual({ name: "jobs", batchSize: 10, maxBatchingWindowMs: 0 });
    expect(config.schedule).toEqual({ expression: "rate(5 minutes)", catchUp: false, allowOverlap: false });
    expect(config.storage).toEqual({ secret: "12345678", events: ["*"] });
    expect(resolveQueueConfig("jobs")).toEqual({ visibilityTimeoutSeconds: 30, maxReceiveCount: 5, deadLetterQueue: "jobs-dlq", retentionSeconds: 345_600 });
  });

  it("names the field of a bad schedule", () => {
    expect(checkFunctionConfig(resolveFunctionConfig({ entry: "a.ts", schedule: "cron(99 * * * ? *)" }))).toEqual([
      { field: "schedule", message: expect.stringContaining('"cron(99 * * * ? *)"') },
    ]);
  });

  it("refuses undeclared queues, a queue that is its own dead-letter queue, and a visibility timeout shorter than the consumer's timeout", () => {
    const functions = new Map([
      ["worker", resolveFunctionConfig({ entry: "a.ts", queue: "jobs", timeoutMs: 60_000 })],
      ["orphan", resolveFunctionConfig({ entry: "a.ts", queue: "missing", async: { onFailure: { queue: "nowhere" } } })],
    ]);
    const queues = { jobs: resolveQueueConfig("jobs", { visibilityTimeoutSeconds: 30 }), loop: resolveQueueConfig("loop", { deadLetterQueue: "loop" }) };
    expect(checkAppConfig(functions, queues)).toEqual([
      { field: "queues.loop.deadLetterQueue", message: "a queue cannot be its own dead-letter queue" },
      { function: "worker", field: "queue.name", message: expect.stringMatching(/visibility timeout of 30 s, less than this function's timeout \(60000 ms\)/) },
      { function: "orphan", field: "queue.name", message: 'queue "missing" is not declared under "queues"' },
      { function: "orphan", field: "async.onFailure.queue", message: 'queue "nowhere" is not declared under "queues"' },
    ]);
  });

  it("validates queues and triggers in wfn.json against the schema", () => {
    expect(
      validateProjectDocument({
        queues: { jobs: { visibilityTimeoutSeconds: 30, maxReceiveCount: 3, deadLetterQueue: "jobs-dlq" } },
        functions: {
          worker: { entry: "w.ts", queue: { name: "jobs", batchSize: 10, maxBatchingWindowMs: 200 } },
          report: { entry: "r.ts", schedule: "cron(0 12 * * ? *)" },
          thumbs: { entry: "t.ts", storage: { events: ["ObjectCreated:*"], prefix: "uploads/", secret: "a-long-secret" } },
        },
      }),
    ).toEqual([]);
    expect(validateProjectDocument({ queues: { jobs: { maxReceiveCount: 0, colour: "red" } }, functions: { a: { entry: "a.ts", queue: { batchSize: 20000 } } } })).toEqual(
      expect.arrayContaining([
        { path: "queues.jobs", message: 'unknown field "colour"' },
        { path: "queues.jobs.maxReceiveCount", message: "must be at least 1" },
      ]),
    );
    expect(validateProjectDocument({ functions: { a: { entry: "a.ts", storage: { secret: "short" } } } })).toEqual([{ path: "functions.a.storage.secret", message: expect.stringMatching(/must/) }]);
  });
});
