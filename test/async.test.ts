// Asynchronous invocations: accepted durably (Invoke API `Event`, the
// embedding API), retried with Lambda's policy, and recorded as Lambda
// destination records when they fail for good.
import { randomUUID } from "node:crypto";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { InvokeCommand, LambdaClient } from "@aws-sdk/client-lambda";
import { beforeAll, describe, expect, it } from "vitest";
import { openSqliteStore } from "../runtime/dist/store/sqlite.js";
import { encodeEvent } from "../runtime/dist/triggers/async-events.js";
import type { AsyncFailure } from "@wfn/runtime";
import { wfn } from "./helpers/cli.js";
import { eventually, startCollector, type Collector } from "./helpers/collector.js";
import { startHost, type TestHost } from "./helpers/host.js";
import { TRIGGERS_BUILD } from "./helpers/paths.js";

let app: TestHost;
let collector: Collector;
let lambda: LambdaClient;

beforeAll(async () => {
  collector = await startCollector();
  app = await startHost({ dir: TRIGGERS_BUILD, asyncRetryDelayMs: 150, maxAsyncPayloadBytes: 64 * 1024 });
  lambda = new LambdaClient({ endpoint: app.url, region: "us-east-1", credentials: { accessKeyId: "wfn", secretAccessKey: "wfn" }, maxAttempts: 1 });
});

async function failures(fn?: string): Promise<{ pending: number; failures: AsyncFailure[] }> {
  const response = await app.get(`/_wfn/async${fn === undefined ? "" : `?function=${fn}`}`);
  expect(response.status).toBe(200);
  return (await response.json()) as { pending: number; failures: AsyncFailure[] };
}

describe("asynchronous invocations", () => {
  it("accepts an Event invocation from the AWS SDK with 202 and runs it with the same request id", async () => {
    const output = await lambda.send(new InvokeCommand({ FunctionName: "job", InvocationType: "Event", Payload: JSON.stringify({ id: "sdk-event", collector: collector.url }) }));
    expect(output.StatusCode).toBe(202);
    await collector.until(() => collector.of("sdk-event").length > 0);
    expect(collector.of("sdk-event")).toEqual([{ id: "sdk-event", fn: "job", requestId: output.$metadata.requestId }]);
  });

  it("accepts one from an embedder with invoke(..., { async: true })", async () => {
    const { requestId } = await app.host.invoke("job", { id: "embedded", collector: collector.url }, { async: true });
    await collector.until(() => collector.of("embedded").length > 0);
    expect(collector.of("embedded")[0]!.requestId).toBe(requestId);
  });

  it("retries a failing invocation twice, then writes a Lambda destination record to the dead-letter store", async () => {
    const { requestId } = await app.host.invokeAsync("job", { id: "doomed", collector: collector.url, fail: true });
    const failure = await eventually(async () => (await failures("job")).failures.find((f) => f.id === requestId), 15_000, "the failure record");
    expect(collector.of("doomed")).toHaveLength(3);
    expect(failure.function).toBe("job");
    expect(failure.record).toEqual({
      version: "1.0",
      timestamp: expect.stringMatching(/^\d{4}-\d{2}-\d{2}T/),
      requestContext: { requestId, functionArn: "arn:aws:lambda:us-east-1:000000000000:function:job:$LATEST", condition: "RetriesExhausted", approximateInvokeCount: 3 },
      requestPayload: { id: "doomed", collector: collector.url, fail: true },
      responseContext: { statusCode: 200, executedVersion: "$LATEST", functionError: "Unhandled" },
      responsePayload: { errorType: "TypeError", errorMessage: "job doomed failed on purpose", trace: expect.any(Array) },
    });
    const { trace } = (failure.record as { responsePayload: { trace: string[] } }).responsePayload;
    expect(trace[0]).toBe("TypeError: job doomed failed on purpose");
    expect(trace[1]).toMatch(/^invoke@/);
    expect(app.logs.some((r) => r.source === "host" && r.requestId === requestId && /failed for good \(RetriesExhausted after 3 attempt\(s\)/.test(r.message))).toBe(true);

    const listed = await wfn(["failures", "job", "--host", app.url]);
    expect(listed.code).toBe(0);
    expect(listed.stdout).toMatch(new RegExp(`^${requestId}\\s+job\\s+\\S+\\s+RetriesExhausted\\s+TypeError: job doomed failed on purpose$`, "m"));
  });

  it("sends the destination record to the on-failure queue, after maximumRetryAttempts", async () => {
    const { requestId } = await app.host.invokeAsync("job-to-queue", { id: "to-queue", collector: collector.url, fail: true });
    const message = await eventually(async () => (await app.host.queues.peek("failed-events")).find((m) => JSON.parse(m.body).requestContext.requestId === requestId), 15_000, "the record on the queue");
    expect(collector.of("to-queue")).toHaveLength(2);
    expect(JSON.parse(message.body)).toMatchObject({
      version: "1.0",
      requestContext: { requestId, condition: "RetriesExhausted", approximateInvokeCount: 2, functionArn: "arn:aws:lambda:us-east-1:000000000000:function:job-to-queue:$LATEST" },
      requestPayload: { id: "to-queue", fail: true },
      responsePayload: { errorType: "TypeError" },
    });
    expect((await failures("job-to-queue")).failures).toEqual([]);
    const peeked = await app.get("/_wfn/queues/failed-events/messages?limit=10");
    expect(((await peeked.json()) as { messages: Array<{ id: string }> }).messages.map((m) => m.id)).toContain(message.id);
  });

  it("refuses, before accepting, an unknown function and a payload over the Event limit", async () => {
    await expect(lambda.send(new InvokeCommand({ FunctionName: "nope", InvocationType: "Event", Payload: "{}" }))).rejects.toMatchObject({ name: "ResourceNotFoundException" });
    await expect(lambda.send(new InvokeCommand({ FunctionName: "job", InvocationType: "Event", Payload: JSON.stringify({ pad: "x".repeat(70_000) }) }))).rejects.toMatchObject({
      name: "RequestEntityTooLargeException",
    });
    await expect(app.host.invokeAsync("job", { pad: "x".repeat(70_000) })).rejects.toMatchObject({ code: "WFN_PAYLOAD_TOO_LARGE" });
    await expect(app.host.invokeAsync("nope", {})).rejects.toMatchObject({ code: "WFN_FUNCTION_NOT_FOUND" });
  });

  it("counts an invocation as pending from its acceptance until it is done", async () => {
    await app.host.invokeAsync("job", { id: "pending", collector: collector.url, fail: true });
    expect((await failures()).pending).toBeGreaterThanOrEqual(1);
    await eventually(async () => ((await failures()).pending === 0 ? true : undefined), 15_000, "nothing pending");
    expect(collector.of("pending")).toHaveLength(3);
  });
});

describe("an asynchronous invocation older than maximumEventAgeSeconds", () => {
  it("is not run when a host picks it up: it is recorded as EventAgeExceeded", async () => {
    // As if a host accepted it seven hours ago (the default maximum age is six) and went down.
    const dataDir = await mkdtemp(join(tmpdir(), "wfn-event-age-"));
    const requestId = randomUUID();
    const store = await openSqliteStore(dataDir);
    const payload = { id: "too-old", collector: collector.url };
    const acceptedAt = Date.now() - 7 * 3_600_000;
    await store.putAsync({
      id: requestId,
      function: "job",
      qualifier: undefined,
      event: encodeEvent({ tag: "invoke", val: { payload: JSON.stringify(payload) } }),
      attempts: 0,
      createdAt: acceptedAt,
      nextAttemptAt: acceptedAt,
      lastError: undefined,
    });
    await store.close();
    try {
      const later = await startHost({ dir: TRIGGERS_BUILD, dataDir });
      const failure = await eventually(async () => {
        const listed = (await (await later.get("/_wfn/async?function=job")).json()) as { failures: AsyncFailure[] };
        return listed.failures.find((f) => f.id === requestId);
      }, 10_000, "the failure record");
      expect(failure.record).toMatchObject({
        version: "1.0",
        requestContext: { requestId, condition: "EventAgeExceeded", approximateInvokeCount: 0 },
        requestPayload: payload,
      });
      expect(failure.record).not.toHaveProperty("responsePayload");
      expect(collector.of("too-old")).toEqual([]);
      await later.server.close();
    } finally {
      await rm(dataDir, { recursive: true, force: true });
    }
  });
});
