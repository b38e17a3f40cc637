// Events of asynchronous invocations, as stored until they run: JSON, with
// the world's 64-bit numbers as strings.
import type { EventValue } from "@wfn/sdk/abi";

/** Serialises an event for the store. */
export function encodeEvent(event: EventValue): string {
  return JSON.stringify(event, (_key, value: unknown) => (typeof value === "bigint" ? { $bigint: value.toString() } : value instanceof Uint8Array ? { $bytes: Buffer.from(value).toString("base64") } : value));
}

/** Reads an event back from the store. */
export function decodeEvent(text: string): EventValue {
  return JSON.parse(text, (_key, value: unknown) => {
    if (value !== null && typeof value === "object") {
      const tagged = value as { $bigint?: string; $bytes?: string };
      if (typeof tagged.$bigint === "string") return BigInt(tagged.$bigint);
      if (typeof tagged.$bytes === "string") return new Uint8Array(Buffer.from(tagged.$bytes, "base64"));
    }
    return value;
  }) as EventValue;
}

/** The request payload of a destination record: the event as the function's caller sent it. */
export function requestPayload(event: EventValue): unknown {
  switch (event.tag) {
    case "invoke":
      return JSON.parse(event.val.payload);
    case "storage":
      return { Records: event.val.map((record) => JSON.parse(record.raw) as unknown) };
    case "schedule":
      return { id: event.val.id, "detail-type": "Scheduled Event", source: "aws.events", time: event.val.time, schedule: event.val.name };
    default:
      return null;
  }
}
