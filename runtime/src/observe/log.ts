// The single place that shapes log lines, for the host's own events and for
// what guests write. A host writes records to a sink; the sink decides the
// format (text for people, JSON for machines) and where they go.
import type { LogLevel } from "@wfn/sdk/abi";

export type { LogLevel };

/** One log event. */
export interface LogRecord {
  /** Unix epoch milliseconds. */
  time: number;
  level: LogLevel;
  message: string;
  /** Who wrote it: the host itself, or a function's code. */
  source: "host" | "guest";
  function?: string;
  version?: string;
  requestId?: string;
}

/** Receives log records. */
export type LogSink = (record: LogRecord) => void;

interface Writable {
  write(chunk: string): unknown;
}

/**
 * Human-readable lines: `time LEVEL function requestId message`. A
 * message's further lines are indented, and control characters (a carriage
 * return, terminal escape sequences, bidirectional overrides) are shown as
 * `\u001b`-style escapes: what a function logs can neither pose as a line
 * of the host's nor drive the terminal that shows the log.
 */
export function textSink(stream: Writable = process.stdout): LogSink {
  const write = lineWriter(stream);
  return (record) => {
    const who = printable(record.function ?? "wfn");
    const id = record.requestId === undefined ? "" : ` ${printable(record.requestId)}`;
    let message = printable(record.message);
    if (message.includes("\n")) message = message.replace(/\n/g, "\n    ");
    write(`${new Date(record.time).toISOString()} ${record.level.toUpperCase().padEnd(5)} ${who}${id} ${message}\n`);
  };
}

/** C0 controls but tab and newline, DEL, C1 controls, bidirectional embeddings, overrides and isolates, line and paragraph separators. */
const UNPRINTABLE = /[\u0000-\u0008\u000b-\u001f\u007f-\u009f\u2028\u2029\u202a-\u202e\u2066-\u2069]/;
const EVERY_UNPRINTABLE = new RegExp(UNPRINTABLE.source, "g");

/** `text` with what a terminal would act on written as `\uXXXX`. */
function printable(text: string): string {
  if (!UNPRINTABLE.test(text)) return text;
  return text.replace(EVERY_UNPRINTABLE, (char) => `\\u${char.charCodeAt(0).toString(16).padStart(4, "0")}`);
}

/** One JSON object per line. */
export function jsonSink(stream: Writable = process.stdout): LogSink {
  const write = lineWriter(stream);
  return (record) => {
    write(
      JSON.stringify({
        time: new Date(record.time).toISOString(),
        level: record.level,
        source: record.source,
        function: record.function,
        version: record.version,
        requestId: record.requestId,
        message: record.message,
      }) + "\n",
    );
  };
}

/** Flushers of every line writer, run when the process exits so no line is lost on a normal exit. */
const flushers = new Set<() => void>();
let exitHooked = false;

/**
 * Collects lines and writes them once per event-loop turn (or every 64 KiB):
 * a host answering thousands of requests a second writes three lines per
 * invocation, and one write per line costs a system call each.
 */
function lineWriter(stream: Writable): (line: string) => void {
  let pending = "";
  let scheduled = false;
  const flush = () => {
    scheduled = false;
    if (pending === "") return;
    const out = pending;
    pending = "";
    stream.write(out);
  };
  flushers.add(flush);
  if (!exitHooked) {
    exitHooked = true;
    process.once("exit", () => {
      for (const pendingFlush of flushers) pendingFlush();
    });
  }
  return (line) => {
    pending += line;
    if (pending.length >= 65_536) flush();
    else if (!scheduled) {
      scheduled = true;
      setImmediate(flush);
    }
  };
}

/**
 * Writes out every log line still waiting for the end of this event-loop
 * turn: call it before writing to the terminal yourself (a banner, a prompt),
 * so that what the host logged first is shown first.
 */
export function flushLogs(): void {
  for (const flush of flushers) flush();
}

/** Discards everything. */
/** Writes the host's own lines (`source: "host"`) to a sink. */
export function hostLogger(sink: LogSink): (level: LogLevel, message: string, requestId?: string) => void {
  return (level, message, requestId) => sink({ time: Date.now(), level, message, source: "host", ...(requestId === undefined ? {} : { requestId }) });
}

export const silentSink: LogSink = () => {};

/** A sink that forwards to several sinks. */
export function teeSink(...sinks: LogSink[]): LogSink {
  return (record) => {
    for (const sink of sinks) sink(record);
  };
}
