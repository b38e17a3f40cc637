// Storage notifications: S3 event notification JSON as S3-compatible
// servers send it, authenticated, filtered, and run asynchronously.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { LogRecord } from "@wfn/runtime";
import { eventually } from "./helpers/collector.js";
import { startHost, type TestHost } from "./helpers/host.js";
import { TRIGGERS_BUILD } from "./helpers/paths.js";

let app: TestHost;
const SECRET = "test-secret-1";

beforeAll(async () => {
  app = await startHost({ dir: TRIGGERS_BUILD });
});
afterAll(() => {
  delete process.env.WFN_TEST_STORAGE_SECRET;
});

/** A record shaped like MinIO's webhook notifications (which follow S3's). */
function record(eventName: string, key: string, extra: Record<string, unknown> = {}) {
  return {
    eventVersion: "2.0",
    eventSource: "minio:s3",
    awsRegion: "",
    eventTime: "2026-11-26T10:00:00.000Z",
    eventName: `s3:${eventName}`,
    userIdentity: { principalId: "minio" },
    requestParameters: { principalId: "minio", region: "", sourceIPAddress: "127.0.0.1" },
    responseElements: { "x-amz-request-id": "1800D2D5A4C0B1A3", "x-minio-deployment-id": "7d0e7bd8", "x-minio-origin-endpoint": "http://127.0.0.1:9000" },
    s3: {
      s3SchemaVersion: "1.0",
      configurationId: "Config",
      bucket: { name: "photos", ownerIdentity: { principalId: "minio" }, arn: "arn:aws:s3:::photos" },
      object: { key, size: 1234, eTag: "0123456789abcdef0123456789abcdef", contentType: "text/plain", userMetadata: { "content-type": "text/plain" }, sequencer: "1800D2D5A4C6B1F2", ...extra },
    },
    source: { host: "127.0.0.1", port: "", userAgent: "MinIO (linux; amd64) minio-go/v7.0.70" },
  };
}

const notify = (fn: string, body: unknown, headers: Record<string, string> = { authorization: `Bearer ${SECRET}` }) =>
  app.get(`/_wfn/events/storage/${fn}`, {
    method: "POST",
    headers: { "content-type": "application/json", ...headers },
    body: typeof body === "string" ? body : JSON.stringify(body),
  });

const storageLines = (logs: LogRecord[], fn: string, prefix: string) =>
  logs.filter((r) => r.source === "guest" && r.function === fn && r.message.startsWith(prefix)).map((r) => JSON.parse(r.message.slice(prefix.length)) as Record<string, unknown>);

describe("storage notifications", () => {
  it("refuses a missing or wrong secret", async () => {
    const body = { Records: [record("ObjectCreated:Put", "uploads/a.txt")] };
    const attempts: Array<Record<string, string>> = [{}, { authorization: "Bearer wrong-secret" }, { "x-wfn-secret": "test-secret-2" }];
    for (const headers of attempts) {
      const response = await notify("uploads", body, headers);
      expect(response.status).toBe(401);
      expect(await response.json()).toMatchObject({ errorType: "UnrecognizedClientException", errorMessage: "missing or wrong storage trigger secret" });
    }
  });

  it("accepts the records the trigger wants (event name, prefix, suffix), decodes keys, and runs the function with them", async () => {
    const response = await notify("uploads", {
      EventName: "s3:ObjectCreated:Put",
      Key: "photos/uploads/a b(c).txt",
      Records: [
        record("ObjectCreated:Put", "uploads/a+b%28c%29.txt"),
        record("ObjectRemoved:Delete", "uploads/gone.txt"),
        record("ObjectCreated:Put", "elsewhere/b.txt"),
        record("ObjectCreated:Copy", "uploads/c.jpg"),
      ],
    });
    expect(response.status).toBe(202);
    const { accepted, requestId } = (await response.json()) as { accepted: number; requestId: string };
    expect(accepted).toBe(1);
    const [seen] = await eventually(() => {
      const lines = storageLines(app.logs, "uploads", "storage ");
      return lines.length > 0 ? lines : undefined;
    });
    expect(seen).toEqual({ eventName: "ObjectCreated:Put", bucket: "photos", key: "uploads/a b(c).txt", size: 1234, etag: "0123456789abcdef0123456789abcdef", fn: "uploads" });
    expect(app.logs.find((r) => r.function === "uploads" && r.message.startsWith("START"))?.requestId).toBe(requestId);
  });

  it("answers 200 with nothing accepted when every record is filtered out", async () => {
    const response = await notify("uploads", { Records: [record("ObjectRemoved:Delete", "uploads/x.txt")] }, { "x-wfn-secret": SECRET });
    expect(response.status).toBe(200);
    expect(await response.json()).toEqual({ accepted: 0 });
  });

  it("explains a bad notification", async () => {
    const cases: Array<[unknown, RegExp]> = [
      ["{oops", /the body is not JSON/],
      [{ records: [] }, /not an S3 event notification: expected a JSON object with a "Records" array/],
      [{ Records: [{ eventName: "s3:ObjectCreated:Put", s3: { bucket: { name: "b" } } }] }, /Records\[0\]: needs "eventName", "s3.bucket.name" and "s3.object.key"/],
      [{ Records: [record("ObjectCreated:Put", "uploads/%E0%A4%A.txt")] }, /Records\[0\]: s3.object.key is not URL-encoded/],
    ];
    for (const [body, message] of cases) {
      const response = await notify("uploads", body);
      expect(response.status).toBe(400);
      expect(((await response.json()) as { errorMessage: string }).errorMessage).toMatch(message);
    }
    // A function without a storage trigger is refused like a wrong secret: the webhook does not say which functions exist.
    const unknown = await notify("job", { Records: [] });
    expect(unknown.status).toBe(401);
    expect(((await unknown.json()) as { errorMessage: string }).errorMessage).toBe("missing or wrong storage trigger secret");
  });

  it("reads a secret from the host's environment, and hands a Lambda-style handler the S3 event as sent, its event name in AWS's form", async () => {
    delete process.env.WFN_TEST_STORAGE_SECRET;
    const body = { Records: [record("ObjectCreated:Put", "any/where.bin")] };
    const unset = await notify("lambda-uploads", body, { authorization: "Bearer whatever-it-is" });
    // The caller is refused as without the secret; the host's log says why.
    expect(unset.status).toBe(401);
    expect(app.logs.some((r) => r.level === "warn" && /reads its secret from WFN_TEST_STORAGE_SECRET, which is not set/.test(r.message))).toBe(true);

    process.env.WFN_TEST_STORAGE_SECRET = "from-the-environment";
    expect((await notify("lambda-uploads", body, { authorization: "Bearer whatever-it-is" })).status).toBe(401);
    const accepted = await notify("lambda-uploads", body, { authorization: "Bearer from-the-environment" });
    expect(accepted.status).toBe(202);
    const [event] = await eventually(() => {
      const lines = storageLines(app.logs, "lambda-uploads", "s3 ");
      return lines.length > 0 ? lines : undefined;
    });
    // MinIO's "s3:ObjectCreated:Put" is AWS's "ObjectCreated:Put": handlers written for AWS test for that.
    expect(event).toEqual({ Records: body.Records.map((sent) => ({ ...sent, eventName: "ObjectCreated:Put" })) });
  });
});
