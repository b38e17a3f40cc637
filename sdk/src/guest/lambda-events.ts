// Lambda's event shapes for non-HTTP triggers: EventBridge scheduled events,
// SQS batches and S3 notifications, built from the world's records.
import { md5Hex } from "./md5.js";
import type { QueueBatchRecord, ScheduleEventRecord, StorageRecordValue } from "../abi.js";

/** `ScheduledEvent` (@types/aws-lambda). */
export function toScheduledEvent(record: ScheduleEventRecord, region: string, account: string) {
  return {
    version: "0",
    id: record.id,
    "detail-type": "Scheduled Event",
    source: "aws.events",
    account,
    time: new Date(record.time).toISOString().replace(/\.\d{3}Z$/, "Z"),
    region,
    resources: [`arn:aws:events:${region}:${account}:rule/${record.name}`],
    detail: {},
  };
}

/** `SQSEvent` (@types/aws-lambda). */
export function toSqsEvent(record: QueueBatchRecord, region: string, account: string) {
  return {
    Records: record.messages.map((message) => ({
      messageId: message.id,
      receiptHandle: message.receiptHandle,
      body: message.body,
      attributes: {
        ApproximateReceiveCount: String(message.receiveCount),
        SentTimestamp: String(message.sentTimestamp),
        SenderId: "wfn",
        ApproximateFirstReceiveTimestamp: String(message.firstReceiveTimestamp),
      },
      messageAttributes: Object.fromEntries(
        message.attributes.map(([name, value]) => [name, { stringValue: value, stringListValues: [], binaryListValues: [], dataType: "String" }]),
      ),
      // Computed in the guest, when read: a WIT field for it made every call's memory grow three
      // times faster (componentize-js's export lifting; measured, docs/performance.md).
      get md5OfBody() {
        return md5Hex(message.body);
      },
      eventSource: "aws:sqs",
      eventSourceARN: `arn:aws:sqs:${region}:${account}:${record.queue}`,
      awsRegion: region,
    })),
  };
}

/**
 * `S3Event` (@types/aws-lambda): the records as the storage server sent them,
 * but for `eventName` in AWS's form: MinIO and its look-alikes send
 * `s3:ObjectRemoved:Delete` where Lambda handlers test for `ObjectRemoved:...`.
 */
export function toS3Event(records: StorageRecordValue[]) {
  return {
    Records: records.map((record) => {
      const raw = JSON.parse(record.raw) as Record<string, unknown>;
      return typeof raw.eventName === "string" ? { ...raw, eventName: raw.eventName.replace(/^s3:/, "") } : raw;
    }),
  };
}
