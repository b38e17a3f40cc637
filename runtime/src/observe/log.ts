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

/** Human-readable lines: `time LEVEL function requestId message`. */
export function textSink(stream: Writable = process.stdout): LogSink {
  return (record) => {
    const who = record.function ?? "wfn";
    const id = record.requestId === undefined ? "" : ` ${record.requestId}`;
    const message = record.message.includes("\n") ? record.message.replace(/\n/g, "\n    ") : record.message;
    stream.write(`${new Date(record.time).toISOString()} ${record.level.toUpperCase().padEnd(5)} ${who}${id} ${message}\n`);
  };
}

/** One JSON object per line. */
export function jsonSink(stream: Writable = process.stdout): LogSink {
  return (record) => {
    stream.write(
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

/** Discards everything. */
export const silentSink: LogSink = () => {};

/** A sink that forwards to several sinks. */
export function teeSink(...sinks: LogSink[]): LogSink {
  return (record) => {
    for (const sink of sinks) sink(record);
  };
}
