// Generated from sdk/wit/ by `npm run wit:types` (jco guest-types): do not edit.
declare module 'wfn:function/types@0.1.0' {
  /**
   * Ordered name/value pairs. A name can repeat (`set-cookie`, say), and
   * each occurrence stays its own entry.
   */
  export type Fields = Array<[string, string]>;
  /**
   * The route of the function's configuration that matched a request.
   */
  export interface HttpRoute {
    /**
     * The route as configured: `GET /items/:id`.
     */
    key: string,
    /**
     * Values of the route's parameters: `id` → `7`.
     */
    params: Fields,
  }
  /**
   * An HTTP request as the client sent it.
   */
  export interface HttpRequest {
    /**
     * Upper-case method: `GET`, `POST`...
     */
    method: string,
    /**
     * Absolute URL: scheme, authority, path and query.
     */
    url: string,
    /**
     * Header names are lower-case.
     */
    headers: Fields,
    /**
     * The body, byte for byte (empty when there is none).
     */
    body: Uint8Array,
    /**
     * The route that matched, when the request came through the host's router.
     */
    route?: HttpRoute,
    /**
     * The client's IP address, when known.
     */
    remoteAddress?: string,
  }
  /**
   * The HTTP response a function returns.
   */
  export interface HttpResponse {
    status: number,
    headers: Fields,
    body: Uint8Array,
  }
  /**
   * A direct invocation (Invoke API, `wfn invoke`, an async event).
   */
  export interface InvokeRequest {
    /**
     * The payload as JSON text; `null` when the caller sent none.
     */
    payload: string,
  }
  /**
   * One firing of a schedule.
   */
  export interface ScheduleEvent {
    /**
     * Unique id of this firing.
     */
    id: string,
    /**
     * The schedule's name (by default the function's name).
     */
    name: string,
    /**
     * The schedule expression, as configured: `rate(5 minutes)`, `cron(...)`.
     */
    expression: string,
    /**
     * RFC 3339 time at which the firing was due.
     */
    time: string,
  }
  /**
   * One message delivered from a queue.
   */
  export interface QueueMessage {
    id: string,
    /**
     * Opaque token naming this delivery of the message.
     */
    receiptHandle: string,
    body: string,
    /**
     * Attributes the producer attached to the message.
     */
    attributes: Fields,
    /**
     * How many times the message has been delivered, this time included.
     */
    receiveCount: number,
    /**
     * Unix epoch milliseconds at which the message was sent.
     */
    sentTimestamp: bigint,
    /**
     * Unix epoch milliseconds of the first delivery.
     */
    firstReceiveTimestamp: bigint,
  }
  /**
   * A batch of messages from one queue.
   */
  export interface QueueBatch {
    queue: string,
    messages: Array<QueueMessage>,
  }
  /**
   * One object-storage change notification (S3 event notification record).
   */
  export interface StorageRecord {
    /**
     * `ObjectCreated:Put`, `ObjectRemoved:Delete`...
     */
    eventName: string,
    /**
     * RFC 3339 time of the change.
     */
    eventTime: string,
    bucket: string,
    /**
     * The object key, URL-decoded.
     */
    key: string,
    size: bigint,
    etag: string,
    versionId?: string,
    /**
     * The record exactly as the storage server sent it, as JSON text.
     */
    raw: string,
  }
  /**
   * What happened: the cause of an invocation.
   */
  export type Event = EventHttp | EventInvoke | EventSchedule | EventQueue | EventStorage;
  export interface EventHttp {
    tag: 'http',
    val: HttpRequest,
  }
  export interface EventInvoke {
    tag: 'invoke',
    val: InvokeRequest,
  }
  export interface EventSchedule {
    tag: 'schedule',
    val: ScheduleEvent,
  }
  export interface EventQueue {
    tag: 'queue',
    val: QueueBatch,
  }
  export interface EventStorage {
    tag: 'storage',
    val: Array<StorageRecord>,
  }
  /**
   * Facts about the invocation in progress.
   */
  export interface Context {
    /**
     * Unique id of this invocation (a UUID).
     */
    requestId: string,
    functionName: string,
    /**
     * `$LATEST` or a version number.
     */
    functionVersion: string,
    /**
     * The ARN-style name the caller used, including any version or alias.
     */
    invokedFunctionArn: string,
    /**
     * The function's memory limit in MiB.
     */
    memoryLimitMb: number,
    /**
     * Unix epoch milliseconds at which the invocation times out.
     */
    deadlineMs: bigint,
    /**
     * JSON text given by the caller of a direct invocation, if any.
     */
    clientContext?: string,
  }
  /**
   * What the function answered.
   */
  export type Outcome = OutcomeHttp | OutcomePayload;
  export interface OutcomeHttp {
    tag: 'http',
    val: HttpResponse,
  }
  /**
   * Result bytes of a non-HTTP invocation, JSON text by convention.
   */
  export interface OutcomePayload {
    tag: 'payload',
    val: Uint8Array,
  }
  /**
   * A failure of the function's own code, reported rather than trapped.
   */
  export interface FunctionError {
    /**
     * The error's class name (`TypeError`, `ValidationError`...).
     */
    errorType: string,
    message: string,
    /**
     * The stack trace, one frame per line, when known.
     */
    stack?: string,
  }
}
