// The log of one invocation: the guest's lines and the host's, framed by
// AWS Lambda's START / END / REPORT lines, sent to the host's sink and kept
// as Lambda-format text (what `X-Amz-Log-Type: Tail` returns).
import type { GuestLogEntry } from "../sandbox/capabilities/logs.js";
import type { LogLevel, LogRecord, LogSink } from "./log.js";

/** The figures of Lambda's REPORT line. */
export interface InvocationReport {
  durationMs: number;
  memorySizeMB: number;
  /** Linear memory of the instance after the call, in bytes; undefined when unknown (a timeout). */
  memoryUsedBytes: number | undefined;
  /** Instance start-up time, on a cold start. */
  initMs: number | undefined;
  timedOut: boolean;
}

const MIB = 1024 * 1024;

export class InvocationLog {
  readonly #sink: LogSink;
  readonly #who: { function: string; version: string; requestId: string };
  readonly #records: LogRecord[] = [];

  constructor(sink: LogSink, who: { function: string; version: string; requestId: string }) {
    this.#sink = sink;
    this.#who = who;
  }

  /** Lines the guest wrote during its call. */
  guest(lines: readonly GuestLogEntry[]): void {
    for (const line of lines) this.#add(line.level, line.message, "guest", line.time);
  }

  /** A line from the host about this invocation (an error, a refusal...). */
  host(level: LogLevel, message: string): void {
    this.#add(level, message, "host", Date.now());
  }

  /** Frames the lines with START / END / REPORT and sends everything to the sink. */
  finish(report: InvocationReport): void {
    const startedAt = Date.now() - report.durationMs;
    const { requestId, version } = this.#who;
    const all: LogRecord[] = [
      this.#record("info", `START RequestId: ${requestId} Version: ${version}`, "host", startedAt),
      ...this.#records,
      this.#record("info", `END RequestId: ${requestId}`, "host", Date.now()),
      this.#record("info", reportLine(requestId, report), "host", Date.now()),
    ];
    this.#records.length = 0;
    this.#records.push(...all);
    for (const record of all) this.#sink(record);
  }

  /** Everything, in AWS Lambda's text format (START, the lines, END, REPORT). */
  text(): string {
    return this.#records.map((record) => lambdaLine(record)).join("");
  }

  #add(level: LogLevel, message: string, source: "host" | "guest", time: number): void {
    this.#records.push(this.#record(level, message, source, time));
  }

  #record(level: LogLevel, message: string, source: "host" | "guest", time: number): LogRecord {
    return { time, level, message, source, function: this.#who.function, version: this.#who.version, requestId: this.#who.requestId };
  }
}

/** `REPORT RequestId: …\tDuration: 3.01 ms\tBilled Duration: 4 ms\tMemory Size: 128 MB\tMax Memory Used: 36 MB\t…` */
function reportLine(requestId: string, report: InvocationReport): string {
  const parts = [
    `REPORT RequestId: ${requestId}`,
    `Duration: ${report.durationMs.toFixed(2)} ms`,
    `Billed Duration: ${Math.max(1, Math.ceil(report.durationMs))} ms`,
    `Memory Size: ${report.memorySizeMB} MB`,
    `Max Memory Used: ${report.memoryUsedBytes === undefined ? report.memorySizeMB : Math.ceil(report.memoryUsedBytes / MIB)} MB`,
  ];
  if (report.initMs !== undefined) parts.push(`Init Duration: ${report.initMs.toFixed(2)} ms`);
  if (report.timedOut) parts.push("Status: timeout");
  return parts.join("\t") + (report.timedOut ? "" : "\t");
}

/** One record as a line of AWS Lambda's text log format. */
function lambdaLine(record: LogRecord): string {
  if (record.source === "host" && /^(START|END|REPORT) RequestId: /.test(record.message)) return `${record.message}\n`;
  const message = record.message.replace(/\n/g, "\r");
  return `${new Date(record.time).toISOString()}\t${record.requestId}\t${record.level.toUpperCase()}\t${message}\n`;
}
