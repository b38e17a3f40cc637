// Storage notifications: S3 event notification JSON, as S3-compatible
// servers (MinIO, Ceph RGW, Garage) send it to a webhook, filtered by the
// function's event names, key prefix and suffix, and turned into a `storage`
// event. Translation only: the host authenticates and invokes.
import type { StorageRecordValue } from "@wfn/sdk/abi";
import type { StorageTriggerConfig } from "../config/function-config.js";
import { WfnError } from "../errors.js";

/**
 * Most records in one notification. S3 sends one record per notification
 * and MinIO, Ceph RGW and Garage do the same; a hundred leaves room for a
 * server that batches, while one invocation stays one manageable event.
 */
export const MAX_NOTIFICATION_RECORDS = 100;

/** Reads a notification body and keeps the records the trigger accepts. */
export function storageRecords(body: unknown, trigger: StorageTriggerConfig): StorageRecordValue[] {
  if (body === null || typeof body !== "object" || !Array.isArray((body as { Records?: unknown }).Records)) {
    throw new WfnError("WFN_INVALID_REQUEST", 'not an S3 event notification: expected a JSON object with a "Records" array');
  }
  const count = (body as { Records: unknown[] }).Records.length;
  if (count > MAX_NOTIFICATION_RECORDS) {
    throw new WfnError("WFN_PAYLOAD_TOO_LARGE", `a storage notification may carry at most ${MAX_NOTIFICATION_RECORDS} records; this one has ${count}`, { details: { limit: MAX_NOTIFICATION_RECORDS } });
  }
  const records: StorageRecordValue[] = [];
  (body as { Records: unknown[] }).Records.forEach((raw, index) => {
    const record = raw as {
      eventName?: unknown;
      eventTime?: unknown;
      s3?: { bucket?: { name?: unknown }; object?: { key?: unknown; size?: unknown; eTag?: unknown; versionId?: unknown } };
    };
    const bucket = record?.s3?.bucket?.name;
    const encodedKey = record?.s3?.object?.key;
    if (typeof record?.eventName !== "string" || typeof bucket !== "string" || typeof encodedKey !== "string") {
      throw new WfnError("WFN_INVALID_REQUEST", `Records[${index}]: needs "eventName", "s3.bucket.name" and "s3.object.key"`);
    }
    // S3 form-encodes keys: "red flower.jpg" arrives as "red+flower.jpg".
    let key: string;
    try {
      key = decodeURIComponent(encodedKey.replace(/\+/g, " "));
    } catch {
      throw new WfnError("WFN_INVALID_REQUEST", `Records[${index}]: s3.object.key is not URL-encoded`);
    }
    const eventName = record.eventName.replace(/^s3:/, "");
    if (!accepts(trigger, eventName, key)) return;
    records.push({
      eventName,
      eventTime: typeof record.eventTime === "string" ? record.eventTime : new Date().toISOString(),
      bucket,
      key,
      size: BigInt(Math.max(0, Math.trunc(Number(record.s3?.object?.size ?? 0)) || 0)),
      etag: typeof record.s3?.object?.eTag === "string" ? record.s3.object.eTag : "",
      versionId: typeof record.s3?.object?.versionId === "string" ? record.s3.object.versionId : undefined,
      raw: JSON.stringify(raw),
    });
  });
  return records;
}

function accepts(trigger: StorageTriggerConfig, eventName: string, key: string): boolean {
  if (trigger.prefix !== undefined && !key.startsWith(trigger.prefix)) return false;
  if (trigger.suffix !== undefined && !key.endsWith(trigger.suffix)) return false;
  return trigger.events.some((pattern) => {
    const wanted = pattern.replace(/^s3:/, "");
    return wanted === "*" || wanted === eventName || (wanted.endsWith(":*") && eventName.startsWith(wanted.slice(0, -1)));
  });
}
