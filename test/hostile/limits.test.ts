// Bodies a client can make the host read: each is refused at its limit
// while it is being read (the host never holds more than the limit), with
// a clear 413 or 400; and the storage webhook tells a caller without the
// secret nothing about which functions exist.
import { beforeAll, describe, expect, it } from "vitest";
import { startHost, type TestHost } from "../helpers/host.js";
import { TRIGGERS_BUILD } from "../helpers/paths.js";
import { body, peakGrowth, rss, streamRequest } from "../helpers/streaming.js";

const MiB = 1024 * 1024;
const SECRET = "test-secret-1";
let app: TestHost;

beforeAll(async () => {
  app = await startHost({ dir: TRIGGERS_BUILD });
});

interface ErrorBody {
  errorType: string;
  errorMessage: string;
}

/** Streams `total` bytes to `path` (JSON that opens with `head`) and watches this process's memory meanwhile. */
async function flood(path: string, total: number, head: string, options: { method?: string; headers?: Record<string, string>; tail?: string } = {}) {
  const { result, growth } = await peakGrowth(rss, () =>
    streamRequest(app.url + path, body(total, { head, tail: options.tail ?? '"}' }), { method: options.method ?? "POST", headers: { "content-type": "application/json", ...options.headers } }),
  );
  return { status: result.status, body: JSON.parse(result.body) as ErrorBody, growth, sent: result.sent };
}

/**
 * The host stopped reading a 64 MiB flood early and kept little of it: the
 * client could not send it all, and this process (host and client, with the
 * garbage of what the host read and dropped, collected when V8 pleases) grew
 * by well under the 64 MiB that holding the body would take. Quiet, it grows
 * by 0–19 MiB with 7–15 MiB sent; on a loaded machine the client gets further
 * before the refusal reaches it (34.6 MiB of growth seen), hence the margin.
 */
function expectNotBuffered(answer: { growth: number; sent: number }): void {
  expect(answer.sent).toBeLessThan(64 * MiB);
  expect(answer.growth).toBeLessThan(48 * MiB);
}

describe("the queue-send route", () => {
  it("refuses a 64 MiB body with 413 once 1 MiB has arrived, without buffering it", async () => {
    const answer = await flood("/_wfn/queues/outbox/messages", 64 * MiB, '{"body":"');
    expect(answer.status).toBe(413);
    expect(answer.body).toMatchObject({ errorType: "RequestEntityTooLargeException", errorMessage: expect.stringMatching(/^The body must be smaller than 1048576 bytes/) });
    expectNotBuffered(answer);
  });

  it("refuses a body declared larger than 1 MiB before reading it", async () => {
    const response = await app.get("/_wfn/queues/outbox/messages", { method: "POST", body: JSON.stringify({ body: "x".repeat(MiB) }) });
    expect(response.status).toBe(413);
    expect(((await response.json()) as ErrorBody).errorMessage).toMatch(/^The body must be smaller than 1048576 bytes \(got 1048587 or more\)$/);
  });
});

describe("queue message attributes", () => {
  const send = (message: unknown) => app.get("/_wfn/queues/outbox/messages", { method: "POST", body: JSON.stringify(message) });
  const ten = Object.fromEntries(Array.from({ length: 10 }, (_, i) => [`attr-${i}`, "v"]));

  it("are at most 10, with SQS's names, and count towards the message's 256 KiB", async () => {
    expect((await send({ body: "x", attributes: ten })).status).toBe(201);
    const cases: Array<[unknown, number, RegExp]> = [
      [{ body: "x", attributes: { ...ten, one: "too many" } }, 400, /^the message: at most 10 attributes per message \(got 11\)$/],
      [{ body: "x", attributes: { "AWS.trace": "v" } }, 400, /^the message: attribute name "AWS\.trace" is not allowed/],
      [{ body: "x", attributes: { "amazon.x": "v" } }, 400, /attribute name "amazon\.x" is not allowed/],
      [{ body: "x", attributes: { "a..b": "v" } }, 400, /attribute name "a\.\.b" is not allowed/],
      [{ body: "x", attributes: { "with space": "v" } }, 400, /attribute name "with space" is not allowed/],
      [{ body: "x", attributes: { "": "v" } }, 400, /attribute name "" is not allowed/],
      [{ body: "x", attributes: { ["n".repeat(257)]: "v" } }, 400, /attribute name "n{64}…" is not allowed/],
      [{ body: "x", attributes: ["a", "b"] }, 400, /"attributes" must be an object of string values/],
      [{ messages: [{ body: "ok" }, { body: "x".repeat(256 * 1024 - 4), attributes: { key: "value" } }] }, 413, /^messages\[1\]: the message \(body and attributes\) is larger than 262144 bytes$/],
    ];
    for (const [message, status, reason] of cases) {
      const response = await send(message);
      expect(response.status, JSON.stringify(message).slice(0, 80)).toBe(status);
      expect(((await response.json()) as ErrorBody).errorMessage).toMatch(reason);
    }
  });

  it("are held to the same rules when an embedder sends", async () => {
    await expect(app.host.queues.send("outbox", "x", { ...ten, eleventh: "v" })).rejects.toMatchObject({ code: "WFN_INVALID_REQUEST" });
    await expect(app.host.queues.send("outbox", "x".repeat(256 * 1024), { k: "v" })).rejects.toMatchObject({ code: "WFN_PAYLOAD_TOO_LARGE" });
  });
});

describe("the storage webhook", () => {
  const record = (key: string) => ({ eventName: "s3:ObjectCreated:Put", eventTime: "2026-11-26T10:00:00.000Z", s3: { bucket: { name: "photos" }, object: { key, size: 1 } } });
  const notify = (fn: string, payload: unknown, headers: Record<string, string> = { authorization: `Bearer ${SECRET}` }) =>
    app.get(`/_wfn/events/storage/${fn}`, { method: "POST", headers: { "content-type": "application/json", ...headers }, body: JSON.stringify(payload) });

  it("refuses a 64 MiB notification with 413 at the asynchronous payload limit, without buffering it", async () => {
    const answer = await flood("/_wfn/events/storage/uploads", 64 * MiB, '{"Records":[{"eventName":"', { headers: { authorization: `Bearer ${SECRET}` } });
    expect(answer.status).toBe(413);
    expect(answer.body.errorMessage).toMatch(/^A storage notification must be smaller than 1048576 bytes/);
    expectNotBuffered(answer);
  });

  it("refuses a notification of more than 100 records", async () => {
    const response = await notify("uploads", { Records: Array.from({ length: 101 }, (_, i) => record(`uploads/${i}.txt`)) });
    expect(response.status).toBe(413);
    expect(((await response.json()) as ErrorBody).errorMessage).toBe("a storage notification may carry at most 100 records; this one has 101");
    expect((await notify("uploads", { Records: Array.from({ length: 100 }, (_, i) => record(`uploads/${i}.txt`)) })).status).toBe(202);
  });

  it("answers the same 401 for an unknown function, one without a storage trigger, a wrong or missing secret, and an unset one", async () => {
    delete process.env.WFN_TEST_STORAGE_SECRET;
    const payload = { Records: [record("uploads/a.txt")] };
    const answers = [
      await notify("no-such-function", payload),
      await notify("job", payload),
      await notify("uploads", payload, {}),
      await notify("uploads", payload, { authorization: "Bearer wrong-secret" }),
      await notify("lambda-uploads", payload, { authorization: "Bearer anything" }),
    ];
    for (const answer of answers) {
      expect(answer.status).toBe(401);
      const { requestId, ...rest } = (await answer.json()) as ErrorBody & { requestId: string };
      expect(requestId).toBe(answer.headers.get("x-wfn-request-id"));
      expect(rest).toEqual({ errorType: "UnrecognizedClientException", errorMessage: "missing or wrong storage trigger secret" });
    }
    // The operator learns what the caller is not told.
    expect(app.logs.some((r) => r.level === "warn" && r.source === "host" && r.function === "lambda-uploads" && /WFN_TEST_STORAGE_SECRET, which is not set/.test(r.message))).toBe(true);
  });
});

describe("the admin API's JSON routes", () => {
  it("refuse a body over 1 MiB (configuration, alias, traffic, rollback) while reading it", async () => {
    const routes: Array<[string, string, string]> = [
      ["PATCH", "/_wfn/functions/job/configuration", '{"env":{"X":"'],
      ["PUT", "/_wfn/functions/job/aliases/live", '{"version":1,"description":"'],
      ["PUT", "/_wfn/functions/job/traffic", '{"qualifier":"$LATEST","x":"'],
      ["POST", "/_wfn/functions/job/rollback", '{"to":1,"x":"'],
    ];
    for (const [method, path, head] of routes) {
      const answer = await flood(path, 2 * MiB, head, { method, tail: '"}}' });
      expect(answer.status, `${method} ${path}`).toBe(413);
      expect(answer.body.errorMessage).toMatch(/^The body must be smaller than 1048576 bytes/);
    }
    expect(app.host.function("job")?.latestVersion).toBe(1);
    expect(app.host.function("job")?.aliases).toEqual([]);
  });
});
