// One error class for everything the host reports, with a stable code per
// failure and one table that maps each code to an HTTP status and to the
// AWS Lambda error type it corresponds to.

/** Stable codes a program can branch on. */
export type ErrorCode =
  | "WFN_FUNCTION_NOT_FOUND"
  | "WFN_ROUTE_NOT_FOUND"
  | "WFN_QUEUE_NOT_FOUND"
  | "WFN_FUNCTION_UNAVAILABLE"
  | "WFN_THROTTLED"
  | "WFN_TIMED_OUT"
  | "WFN_PAYLOAD_TOO_LARGE"
  | "WFN_RESPONSE_TOO_LARGE"
  | "WFN_INVALID_REQUEST"
  | "WFN_VALIDATION"
  | "WFN_UNKNOWN_OPERATION"
  | "WFN_FUNCTION_ERROR"
  | "WFN_INVALID_RESPONSE"
  | "WFN_INVALID_ARTIFACT"
  | "WFN_INVALID_CONFIG"
  | "WFN_GUEST_TRAP"
  | "WFN_OUT_OF_MEMORY"
  | "WFN_EXECUTOR_FAILED"
  | "WFN_SHUTTING_DOWN"
  | "WFN_UNAUTHORIZED"
  | "WFN_FORBIDDEN"
  | "WFN_CONFLICT"
  | "WFN_DISK_FULL"
  | "WFN_INTERNAL";

interface ErrorKind {
  /** HTTP status when the error answers an HTTP request. */
  status: number;
  /** The AWS Lambda error type (service exception or function error type). */
  lambdaType: string;
  /** Who is at fault: the caller, the function, or the host. */
  fault: "client" | "function" | "server";
  defaultMessage: string;
  /** Response headers every answer with this error carries. */
  headers?: Readonly<Record<string, string>>;
}

const NO_HEADERS: Readonly<Record<string, string>> = Object.freeze({});

const KINDS: Record<ErrorCode, ErrorKind> = {
  WFN_FUNCTION_NOT_FOUND: { status: 404, lambdaType: "ResourceNotFoundException", fault: "client", defaultMessage: "Function not found" },
  WFN_ROUTE_NOT_FOUND: { status: 404, lambdaType: "ResourceNotFoundException", fault: "client", defaultMessage: "No function handles this route" },
  WFN_QUEUE_NOT_FOUND: { status: 404, lambdaType: "QueueDoesNotExist", fault: "client", defaultMessage: "The queue does not exist" },
  WFN_FUNCTION_UNAVAILABLE: { status: 503, lambdaType: "ResourceNotReadyException", fault: "server", defaultMessage: "The function is not available" },
  WFN_THROTTLED: { status: 429, lambdaType: "TooManyRequestsException", fault: "client", defaultMessage: "Rate Exceeded.", headers: { "retry-after": "1" } },
  WFN_TIMED_OUT: { status: 504, lambdaType: "Sandbox.Timedout", fault: "function", defaultMessage: "Task timed out" },
  WFN_PAYLOAD_TOO_LARGE: { status: 413, lambdaType: "RequestEntityTooLargeException", fault: "client", defaultMessage: "Request payload too large" },
  WFN_RESPONSE_TOO_LARGE: { status: 502, lambdaType: "Function.ResponseSizeTooLarge", fault: "function", defaultMessage: "Response payload too large" },
  WFN_INVALID_REQUEST: { status: 400, lambdaType: "InvalidRequestContentException", fault: "client", defaultMessage: "Invalid request" },
  WFN_VALIDATION: { status: 400, lambdaType: "ValidationException", fault: "client", defaultMessage: "1 validation error detected" },
  WFN_UNKNOWN_OPERATION: { status: 404, lambdaType: "UnknownOperationException", fault: "client", defaultMessage: "Unknown operation" },
  WFN_FUNCTION_ERROR: { status: 500, lambdaType: "Unhandled", fault: "function", defaultMessage: "The function's code threw an error" },
  WFN_INVALID_RESPONSE: { status: 502, lambdaType: "Runtime.InvalidResponse", fault: "function", defaultMessage: "The function returned an invalid response" },
  WFN_INVALID_ARTIFACT: { status: 400, lambdaType: "InvalidParameterValueException", fault: "client", defaultMessage: "Invalid function artifact" },
  WFN_INVALID_CONFIG: { status: 400, lambdaType: "InvalidParameterValueException", fault: "client", defaultMessage: "Invalid configuration" },
  WFN_GUEST_TRAP: { status: 502, lambdaType: "Runtime.ExitError", fault: "function", defaultMessage: "The function's instance trapped" },
  WFN_OUT_OF_MEMORY: { status: 502, lambdaType: "Runtime.OutOfMemory", fault: "function", defaultMessage: "The function ran out of memory" },
  WFN_EXECUTOR_FAILED: { status: 502, lambdaType: "ServiceException", fault: "server", defaultMessage: "The executor running the function failed" },
  WFN_UNAUTHORIZED: { status: 401, lambdaType: "UnrecognizedClientException", fault: "client", defaultMessage: "Missing or invalid key" },
  WFN_FORBIDDEN: { status: 403, lambdaType: "AccessDeniedException", fault: "client", defaultMessage: "Not allowed" },
  WFN_CONFLICT: { status: 409, lambdaType: "ResourceConflictException", fault: "client", defaultMessage: "The resource is being changed" },
  WFN_DISK_FULL: { status: 507, lambdaType: "ServiceException", fault: "server", defaultMessage: "The host's data directory is full" },
  WFN_SHUTTING_DOWN: { status: 503, lambdaType: "ServiceException", fault: "server", defaultMessage: "The host is shutting down" },
  WFN_INTERNAL: { status: 500, lambdaType: "ServiceException", fault: "server", defaultMessage: "Internal error" },
};

/** Every failure the host reports. `code` is stable; `message` is for humans. */
export class WfnError extends Error {
  override name = "WfnError";
  readonly code: ErrorCode;
  /** Extra machine-readable facts (a field name, a limit...). */
  readonly details: Readonly<Record<string, unknown>>;

  constructor(code: ErrorCode, message?: string, options?: { cause?: unknown; details?: Record<string, unknown> }) {
    super(message ?? KINDS[code].defaultMessage, options?.cause === undefined ? undefined : { cause: options.cause });
    this.code = code;
    this.details = Object.freeze({ ...options?.details });
  }

  /** HTTP status for this error. */
  get status(): number {
    return KINDS[this.code].status;
  }

  /** The corresponding AWS Lambda error type. */
  get lambdaType(): string {
    return KINDS[this.code].lambdaType;
  }

  get fault(): ErrorKind["fault"] {
    return KINDS[this.code].fault;
  }

  /** Headers an answer with this error carries (`Retry-After` on a throttle). */
  get headers(): Readonly<Record<string, string>> {
    return KINDS[this.code].headers ?? NO_HEADERS;
  }
}

/** Whether a value is a WfnError (across module copies too). */
export function isWfnError(value: unknown): value is WfnError {
  return value instanceof WfnError || (value instanceof Error && value.name === "WfnError" && "code" in value);
}

/** Wraps anything thrown into a WfnError, keeping WfnErrors as they are. */
export function asWfnError(thrown: unknown, fallback: ErrorCode = "WFN_INTERNAL"): WfnError {
  if (isWfnError(thrown)) return thrown;
  const message = thrown instanceof Error ? thrown.message : String(thrown);
  return new WfnError(fallback, message, { cause: thrown });
}

/** The HTTP status and Lambda type for a code, without constructing an error. */
export function errorKind(code: ErrorCode): Readonly<ErrorKind> {
  return KINDS[code];
}

/** Every code, in the table's order. */
export const ERROR_CODES: readonly ErrorCode[] = Object.freeze(Object.keys(KINDS) as ErrorCode[]);
