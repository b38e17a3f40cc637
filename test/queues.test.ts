// Queues: producers (HTTP, embedders, guests, the CLI), batched consumers in
// both styles, partial failures, retries after the visibility timeout, dead
// letters and redrive — on a real host, with the real store.
import { createHash } from "node:crypto";
import { beforeAll, describe, expect, it } from "vitest";
import type { QueueStats } from "@wfn/runtime";
import { wfn } from "./helpers/cli.js";
import { eventually, startCollector, type Collector } from "./helpers/collector.js";
import { startHost, type TestHost } from "./helpers/host.js";
import { TRIGGERS_BUILD } from "./helpers/paths.js";

let app: TestHost;
let collector: Collector;

beforeAll(async () => {
  collector = await startCollector();
  app = await startHost({ dir: TRIGGERS_BUILD });
});

const send = (queue: string, body: unknown) =>
  app.get(`/_wfn/queues/${queue}/messages`, { method: "POST", headers: { "content-type": "application/json" }, body: typeof body === "string" ? body : JSON.stringify(body) });

const work = (id: string, mode?: string) => ({ body: JSON.stringify({ id, collector: collector.url, ...(mode === undefined ? {} : { mode }) }) });

async function stats(name: string): Promise<QueueStats> {
  const found = (await app.host.queues.stats()).find((queue) => queue.name === name);
  if (found === undefined) throw new Error(`no queue ${name}`);
  return found;
}

/** Guest log lines of a function that start with `prefix`, without it. */
function guestLines(fn: string, prefix: string): string[] {
  return app.logs.filter((r) => r.source === "guest" && r.function === fn && r.message.startsWith(prefix)).map((r) => r.message.slice(prefix.length));
}

describe("queues", () => {
  it("delivers a batch sent over HTTP in batches of at most batchSize, and deletes each message after success", async () => {
    const ids = Array.from({ length: 12 }, (_, i) => `batch-${i}`);
    const response = await send("work", { messages: ids.map((id) => work(id)) });
    expect(response.status).toBe(201);
    const { messageIds } = (await response.json()) as { messageIds: string[] };
    expect(messageIds).toHaveLength(12);
    expect(new Set(messageIds).size).toBe(12);
    await collector.until(() => ids.every((id) => collector.of(id).length > 0));
    const reports = ids.flatMap((id) => collector.of(id));
    expect(reports).toHaveLength(12);
    for (const report of reports) {
      expect(report).toMatchObject({ fn: "consumer", queue: "work", attempt: 1 });
      expect(report.size).toBeLessThanOrEqual(5);
    }
    await eventually(async () => {
      const queue = await stats("work");
      return queue.visible === 0 && queue.inFlight === 0 ? true : undefined;
    }, 10_000, "the queue to be empty");
    expect(await stats("work")).toMatchObject({ deadLetterQueue: "work-dlq", consumers: ["consumer"] });
  });

  it("redelivers only the messages a batch reports as failed, after the visibility timeout", async () => {
    const started = Date.now();
    await send("work", { messages: [work("partial-a"), work("partial-b", "retry-once"), work("partial-c")] });
    await collector.until(() => collector.of("partial-b").length > 0, 15_000);
    expect(collector.of("partial-a")).toEqual([expect.objectContaining({ attempt: 1 })]);
    expect(collector.of("partial-c")).toEqual([expect.objectContaining({ attempt: 1 })]);
    expect(collector.of("partial-b")).toEqual([expect.objectContaining({ attempt: 2 })]);
    // The queue's visibility timeout is 2 s.
    expect(Date.now() - started).toBeGreaterThanOrEqual(1900);
  });

  it("retries a batch whose handler throws, then moves the message to the dead-letter queue after maxReceiveCount", async () => {
    const response = await send("work", work("poison", "throw"));
    expect(response.status).toBe(201);
    const { messageId } = (await response.json()) as { messageId: string };
    const deadLetters = await eventually(async () => {
      const letters = await app.host.queues.deadLetters("work");
      return letters.some((m) => m.id === messageId) ? letters : undefined;
    }, 20_000, "the poison message to be dead-lettered");
    const letter = deadLetters.find((m) => m.id === messageId)!;
    expect(JSON.parse(letter.body)).toMatchObject({ id: "poison", mode: "throw" });
    expect(letter.deadLetteredFrom).toBe("work");
    expect(guestLines("consumer", "processing poison attempt ").map((rest) => rest.split(" ")[0])).toEqual(["1", "2", "3"]);
    expect((await stats("work")).deadLettered).toBe(1);

    const listed = await app.get("/_wfn/queues/work/dead-letters");
    expect(((await listed.json()) as { messages: Array<{ id: string }> }).messages.map((m) => m.id)).toContain(messageId);

    const redriven = await app.get("/_wfn/queues/work/redrive", { method: "POST" });
    expect(await redriven.json()).toEqual({ moved: 1 });
    expect((await stats("work")).deadLettered).toBe(0);
    // Back in the queue with its receive count reset: delivered again from attempt 1.
    await eventually(() => (guestLines("consumer", "processing poison attempt ").length >= 4 ? true : undefined), 10_000, "the redriven delivery");
    expect(guestLines("consumer", "processing poison attempt ")[3]).toMatch(/^1 /);
    // Left in the queue, it would fail whatever batch it shares with other tests' messages.
    await eventually(async () => ((await app.host.queues.deadLetters("work")).some((m) => m.id === messageId) ? true : undefined), 20_000, "the poison message back in the dead-letter queue");
  });

  it("hands a Lambda-style consumer an SQS event, and honours its batchItemFailures", async () => {
    const id = await app.host.queues.send("lwork", "hello", { kind: "greeting" });
    const event = await eventually(() => {
      const found = guestLines("lambda-consumer", "event ").map((line) => JSON.parse(line) as { Records: Array<Record<string, unknown>> });
      return found.find((e) => e.Records.some((r) => r.messageId === id));
    });
    const record = event.Records.find((r) => r.messageId === id)!;
    expect(record).toMatchObject({
      messageId: id,
      body: "hello",
      eventSource: "aws:sqs",
      eventSourceARN: "arn:aws:sqs:us-east-1:000000000000:lwork",
      awsRegion: "us-east-1",
      md5OfBody: createHash("md5").update("hello").digest("hex"),
      attributes: { ApproximateReceiveCount: "1", SenderId: "wfn" },
      messageAttributes: { kind: { stringValue: "greeting", dataType: "String", stringListValues: [], binaryListValues: [] } },
    });
    expect(typeof record.receiptHandle).toBe("string");
    expect(Number((record.attributes as Record<string, string>).SentTimestamp)).toBeGreaterThan(Date.now() - 60_000);

    const bad = await app.host.queues.send("lwork", "bad");
    await eventually(async () => ((await app.host.queues.deadLetters("lwork")).some((m) => m.id === bad) ? true : undefined), 15_000, "the bad record to be dead-lettered");
    const deliveries = guestLines("lambda-consumer", "event ")
      .map((line) => JSON.parse(line) as { Records: Array<{ messageId: string; attributes: { ApproximateReceiveCount: string } }> })
      .flatMap((e) => e.Records.filter((r) => r.messageId === bad).map((r) => r.attributes.ApproximateReceiveCount));
    expect(deliveries).toEqual(["1", "2"]);
    // The good message was deleted after its first delivery: the bad one's second came after the visibility timeout, without it.
    const good = guestLines("lambda-consumer", "event ").flatMap((line) => (JSON.parse(line) as { Records: Array<{ messageId: string }> }).Records.filter((r) => r.messageId === id));
    expect(good).toHaveLength(1);
  });

  it("lets a function send messages with ctx.sendMessage, and tells it when the queue does not exist", async () => {
    const before = (await stats("outbox")).visible;
    const sent = await app.get("/produce", { method: "POST", body: JSON.stringify({ queue: "outbox", body: "from a guest" }) });
    expect(sent.status).toBe(200);
    expect(((await sent.json()) as { id: string }).id).toMatch(/^[0-9a-f-]{36}$/);
    expect((await stats("outbox")).visible).toBe(before + 1);

    const refused = await app.get("/produce", { method: "POST", body: JSON.stringify({ queue: "nowhere", body: "x" }) });
    expect(refused.status).toBe(400);
    expect(((await refused.json()) as { error: string }).error).toBe('sendMessage to "nowhere" failed: queue "nowhere" does not exist (declare it under "queues" in wfn.json)');
  });

  it("refuses bad messages with errors that say what is wrong", async () => {
    const cases: Array<[unknown, number, RegExp]> = [
      ["{not json", 400, /the body is not JSON/],
      [{ text: "no body field" }, 400, /send \{"body"/],
      [{ body: { not: "a string" } }, 400, /"body" must be a string/],
      [{ messages: [] }, 400, /no messages to send/],
      [{ messages: [{ body: "ok" }, { body: 7 }] }, 400, /messages\[1\]: "body" must be a string/],
      [{ body: "x", attributes: { n: 1 } }, 400, /attribute "n" must be a string/],
      [{ body: "x", delaySeconds: 901 }, 400, /"delaySeconds" must be an integer from 0 to 900/],
      [{ body: "x".repeat(256 * 1024 + 1) }, 413, /larger than 262144 bytes/],
      [{ messages: Array.from({ length: 101 }, () => ({ body: "x" })) }, 400, /at most 100 messages/],
    ];
    for (const [body, status, message] of cases) {
      const response = await send("outbox", body);
      expect(response.status, JSON.stringify(body).slice(0, 60)).toBe(status);
      expect(((await response.json()) as { errorMessage: string }).errorMessage).toMatch(message);
    }
    const unknown = await send("nowhere", { body: "x" });
    expect(unknown.status).toBe(404);
    expect(await unknown.json()).toMatchObject({ errorType: "QueueDoesNotExist", errorMessage: 'queue "nowhere" does not exist (declare it under "queues" in wfn.json)' });
    await expect(app.host.queues.send("nowhere", "x")).rejects.toMatchObject({ code: "WFN_QUEUE_NOT_FOUND" });
  });

  it("delays a message by delaySeconds", async () => {
    const response = await send("work", { ...work("delayed"), delaySeconds: 1 });
    expect(response.status).toBe(201);
    const sentAt = Date.now();
    await collector.until(() => collector.of("delayed").length > 0, 10_000);
    expect(Date.now() - sentAt).toBeGreaterThanOrEqual(900);
  });
});

describe("queue commands", () => {
  it("lists queues, sends, lists dead letters and redrives from the command line", async () => {
    const listed = await wfn(["queues", "--host", app.url]);
    expect(listed.code).toBe(0);
    expect(listed.stdout).toMatch(/^QUEUE\s+VISIBLE\s+IN FLIGHT\s+DEAD-LETTERED\s+DEAD-LETTER QUEUE\s+CONSUMERS$/m);
    expect(listed.stdout).toMatch(/^work\s+\d+\s+\d+\s+\d+\s+work-dlq\s+consumer$/m);

    const sent = await wfn(["send", "outbox", "from the cli", "--attr", "k=v", "--host", app.url]);
    expect(sent.code).toBe(0);
    expect(sent.stdout.trim()).toMatch(/^[0-9a-f-]{36}$/);

    const json = await wfn(["queues", "--json", "--host", app.url]);
    const outbox = (JSON.parse(json.stdout) as { queues: QueueStats[] }).queues.find((q) => q.name === "outbox")!;
    expect(outbox.visible).toBeGreaterThanOrEqual(1);

    const empty = await wfn(["dead-letters", "outbox", "--host", app.url]);
    expect(empty.code).toBe(0);
    expect(empty.stdout + empty.stderr).toContain("no dead letters for queue outbox");

    // A dead letter of this test's own: the Lambda-style consumer fails "bad" twice (maxReceiveCount 2).
    const bad = await wfn(["send", "lwork", "bad", "--host", app.url]);
    const badId = bad.stdout.trim();
    await eventually(async () => ((await app.host.queues.deadLetters("lwork")).some((m) => m.id === badId) ? true : undefined), 15_000, "the message to be dead-lettered");
    const letters = await wfn(["dead-letters", "lwork", "--host", app.url]);
    expect(letters.code).toBe(0);
    expect(letters.stdout).toMatch(/^MESSAGE ID\s+SENT\s+BODY$/m);
    expect(letters.stdout).toMatch(new RegExp(`^${badId}\\s+\\S+.*\\s+bad$`, "m"));

    const unknown = await wfn(["send", "nowhere", "x", "--host", app.url]);
    expect(unknown.code).toBe(1);
    expect(unknown.stderr).toContain('error: queue "nowhere" does not exist');

    const redriven = await wfn(["redrive", "lwork", "--host", app.url]);
    expect(redriven.code).toBe(0);
    expect(redriven.stdout).toMatch(/^moved \d+ messages? back to lwork$/m);
  });

  it("says clearly when no host answers", async () => {
    const closed = await startCollector();
    await closed.close();
    const url = new URL(closed.url).origin;
    const result = await wfn(["queues", "--host", url]);
    expect(result.code).toBe(1);
    expect(result.stderr).toContain(`no wfn host answers at ${url}`);
    expect(result.stderr).not.toMatch(/\n\s+at /);
  });
});
