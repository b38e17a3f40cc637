// Keeps an index entry for every object uploaded under uploads/ in an
// S3-compatible store (MinIO, Ceph RGW, Garage...). The store's webhook
// notifications arrive as an S3 event, exactly as on AWS Lambda; for each new
// object the function downloads it, measures it, and writes
// index/<key>.json next to it; for each removed object it deletes that entry.
//
// It reaches the store over plain HTTP at STORAGE_URL, so the bucket must
// allow this host (a bucket policy, or a presigning proxy). A failure throws:
// the host retries the notification twice, then records it (`wfn failures`).
import type { S3Event } from "aws-lambda";

const storage = (process.env.STORAGE_URL ?? "http://127.0.0.1:9000").replace(/\/$/, "");

export const handler = async (event: S3Event): Promise<void> => {
  for (const record of event.Records) {
    const bucket = record.s3.bucket.name;
    // S3 sends keys form-encoded: "my photo.jpg" arrives as "my+photo.jpg".
    const key = decodeURIComponent(record.s3.object.key.replace(/\+/g, " "));
    const entry = `${storage}/${bucket}/index/${encodeKey(key)}.json`;
    if (record.eventName.startsWith("ObjectRemoved")) {
      const removed = await fetch(entry, { method: "DELETE" });
      if (!removed.ok && removed.status !== 404) throw new Error(`deleting ${entry}: HTTP ${removed.status}`);
      console.log(`unindexed ${bucket}/${key}`);
      continue;
    }
    const object = await fetch(`${storage}/${bucket}/${encodeKey(key)}`);
    if (!object.ok) throw new Error(`reading ${bucket}/${key}: HTTP ${object.status}`);
    const bytes = new Uint8Array(await object.arrayBuffer());
    const digest = await crypto.subtle.digest("SHA-256", bytes);
    const index = {
      bucket,
      key,
      size: bytes.byteLength,
      contentType: object.headers.get("content-type"),
      sha256: [...new Uint8Array(digest)].map((b) => b.toString(16).padStart(2, "0")).join(""),
      etag: record.s3.object.eTag,
      indexedAt: new Date().toISOString(),
    };
    const written = await fetch(entry, { method: "PUT", headers: { "content-type": "application/json" }, body: JSON.stringify(index) });
    if (!written.ok) throw new Error(`writing ${entry}: HTTP ${written.status}`);
    console.log(`indexed ${bucket}/${key}: ${index.size} bytes, sha256 ${index.sha256.slice(0, 12)}…`);
  }
};

function encodeKey(key: string): string {
  return key.split("/").map(encodeURIComponent).join("/");
}
