// How the CLI talks to people: progress on stderr, results on stdout,
// errors as sentences (never a stack trace unless WFN_DEBUG is set).
import { relative } from "node:path";
import { flushLogs, isWfnError } from "@wfn/runtime";
import { CliError, UsageError } from "./errors.js";

const color = process.stderr.isTTY && !process.env.NO_COLOR;
const paint = (code: number) => (text: string) => (color ? `\u001b[${code}m${text}\u001b[0m` : text);
export const bold = paint(1);
export const dim = paint(2);
export const red = paint(31);
export const green = paint(32);
export const cyan = paint(36);

/** Progress and diagnostics: stderr (after any host log lines still waiting, so the order is kept). */
export function say(line = ""): void {
  flushLogs();
  process.stderr.write(line + "\n");
}

/** Results: stdout. */
export function out(text: string): void {
  flushLogs();
  process.stdout.write(text.endsWith("\n") ? text : text + "\n");
}

export function formatBytes(bytes: number): string {
  if (bytes < 1024) return `${bytes} B`;
  if (bytes < 1024 * 1024) return `${(bytes / 1024).toFixed(1)} KB`;
  return `${(bytes / 1024 / 1024).toFixed(1)} MB`;
}

export function formatMs(ms: number): string {
  return ms < 1000 ? `${Math.round(ms)} ms` : `${(ms / 1000).toFixed(1)} s`;
}

/** A path as the user would type it from the current directory. */
export function shown(path: string): string {
  const rel = relative(process.cwd(), path);
  return rel === "" ? "." : rel.startsWith("..") ? path : rel;
}

/** Reads a whole-number option in [min, max]; a UsageError names the option otherwise. */
export function integerOption(text: string, name: string, min: number, max: number): number {
  const value = Number(text);
  if (!Number.isInteger(value) || value < min || value > max) throw new UsageError(`${name} must be a number from ${min} to ${max}, got "${text}"`);
  return value;
}

/** Prints an error the way a user should see it; returns the exit code. */
export function reportError(error: unknown): number {
  if (error instanceof CliError) {
    say(red(`error: ${error.headline()}`));
    for (const line of error.details({ bold })) say(`  ${line}`);
    return error.exitCode;
  }
  if (isWfnError(error)) {
    say(red(`error: ${error.message}`));
    return 1;
  }
  const message = error instanceof Error ? error.message : String(error);
  say(red(`error: ${message}`));
  if (process.env.WFN_DEBUG && error instanceof Error && error.stack) say(dim(error.stack));
  else say(dim("(unexpected; set WFN_DEBUG=1 to see where it came from)"));
  return 1;
}
