// Captures what a guest writes — stdout, stderr and the host `log` import —
// as log entries of the call in progress, within a byte budget.
import type { LogLevel } from "@wfn/sdk/abi";
import { InputStream, OutputStream, type ByteSink } from "./io.js";

/** One line written by a guest during a call. */
export interface GuestLogEntry {
  /** Unix epoch milliseconds. */
  time: number;
  level: LogLevel;
  message: string;
}

/** Collects a call's log lines; `take()` hands them over and starts afresh. */
export class LogCollector {
  readonly #limitBytes: number;
  #entries: GuestLogEntry[] = [];
  #bytes = 0;
  #droppedBytes = 0;
  readonly #partial = new Map<LogLevel, string>();
  readonly #decoders = new Map<LogLevel, TextDecoder>();

  constructor(limitBytes: number) {
    this.#limitBytes = limitBytes;
  }

  /** Records one message (it may span lines). */
  log(level: LogLevel, message: string): void {
    const size = message.length;
    if (this.#bytes + size > this.#limitBytes) {
      this.#droppedBytes += size;
      return;
    }
    this.#bytes += size;
    this.#entries.push({ time: Date.now(), level, message });
  }

  /** A byte sink that turns written bytes into one entry per line. */
  lineSink(level: LogLevel): ByteSink {
    return {
      write: (bytes) => {
        let decoder = this.#decoders.get(level);
        if (decoder === undefined) this.#decoders.set(level, (decoder = new TextDecoder()));
        const text = (this.#partial.get(level) ?? "") + decoder.decode(bytes, { stream: true });
        const lines = text.split("\n");
        this.#partial.set(level, lines.pop()!);
        for (const line of lines) this.log(level, line);
      },
    };
  }

  /** Returns the call's entries (flushing unterminated lines) and resets for the next call. */
  take(): GuestLogEntry[] {
    for (const [level, rest] of this.#partial) {
      if (rest.length > 0) this.log(level, rest);
    }
    this.#partial.clear();
    if (this.#droppedBytes > 0) {
      this.#entries.push({
        time: Date.now(),
        level: "warn",
        message: `[wfn] log output truncated: ${this.#droppedBytes} bytes over the ${this.#limitBytes}-byte limit per invocation were dropped`,
      });
    }
    const entries = this.#entries;
    this.#entries = [];
    this.#bytes = 0;
    this.#droppedBytes = 0;
    return entries;
  }
}

/** Functions never have a terminal; these exist because the glue imports them. */
class TerminalInput {}
class TerminalOutput {}

/** wasi:cli stdio and terminals, with stdout and stderr going to the collector. */
export function stdioImports(logs: LogCollector) {
  const stdout = new OutputStream(logs.lineSink("info"));
  const stderr = new OutputStream(logs.lineSink("error"));
  const stdin = new InputStream();
  return {
    "wasi:cli/stdin": { getStdin: () => stdin },
    "wasi:cli/stdout": { getStdout: () => stdout },
    "wasi:cli/stderr": { getStderr: () => stderr },
    "wasi:cli/terminal-input": { TerminalInput },
    "wasi:cli/terminal-output": { TerminalOutput },
    "wasi:cli/terminal-stdin": { getTerminalStdin: () => undefined },
    "wasi:cli/terminal-stdout": { getTerminalStdout: () => undefined },
    "wasi:cli/terminal-stderr": { getTerminalStderr: () => undefined },
  };
}
