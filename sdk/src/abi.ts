// The WIT values of `wfn:function@0.1.0` as JavaScript sees them on either
// side of the component boundary (jco / componentize-js conventions:
// variants are `{ tag, val }`, `u64` is a bigint, `option<T>` is `T | undefined`).

/** Ordered name/value pairs; names may repeat. */
export type Fields = Array<[string, string]>;

export interface HttpRouteRecord {
  key: string;
  params: Fields;
}

export interface HttpRequestRecord {
  method: string;
  url: string;
  headers: Fields;
  body: Uint8Array;
  route: HttpRouteRecord | undefined;
  remoteAddress: string | undefined;
}

export interface HttpResponseRecord {
  status: number;
  headers: Fields;
  body: Uint8Array;
}

export interface InvokeRequestRecord {
  payload: string;
}

export interface ScheduleEventRecord {
  id: string;
  name: string;
  expression: string;
  time: string;
}

export interface QueueMessageRecord {
  id: string;
  receiptHandle: string;
  body: string;
  attributes: Fields;
  receiveCount: number;
  sentTimestamp: bigint;
  firstReceiveTimestamp: bigint;
}

export interface QueueBatchRecord {
  queue: string;
  messages: QueueMessageRecord[];
}

export interface StorageRecordValue {
  eventName: string;
  eventTime: string;
  bucket: string;
  key: string;
  size: bigint;
  etag: string;
  versionId: string | undefined;
  raw: string;
}

export type EventValue =
  | { tag: "http"; val: HttpRequestRecord }
  | { tag: "invoke"; val: InvokeRequestRecord }
  | { tag: "schedule"; val: ScheduleEventRecord }
  | { tag: "queue"; val: QueueBatchRecord }
  | { tag: "storage"; val: StorageRecordValue[] };

export interface ContextRecord {
  requestId: string;
  functionName: string;
  functionVersion: string;
  invokedFunctionArn: string;
  memoryLimitMb: number;
  deadlineMs: bigint;
  clientContext: string | undefined;
}

export type OutcomeValue =
  | { tag: "http"; val: HttpResponseRecord }
  | { tag: "payload"; val: Uint8Array };

export interface FunctionErrorRecord {
  errorType: string;
  message: string;
  stack: string | undefined;
}

export type HandleResult =
  | { tag: "ok"; val: OutcomeValue }
  | { tag: "err"; val: FunctionErrorRecord };

export type LogLevel = "trace" | "debug" | "info" | "warn" | "error" | "fatal";
