// How commands that talk to a host print what it answered: tables for
// people, JSON for scripts.
import { dim, out, say } from "../ui.js";

/** Prints the host's answer as JSON; returns the exit code. */
export function print(answer: unknown): number {
  out(JSON.stringify(answer, null, 2));
  return 0;
}

/** Prints aligned columns under a header; with no rows, says `empty` instead (when given). */
export function table(header: string[], rows: string[][], empty?: string): void {
  if (rows.length === 0 && empty !== undefined) {
    say(dim(empty));
    return;
  }
  const widths = header.map((title, column) => Math.max(title.length, ...rows.map((row) => row[column]!.length)));
  const line = (cells: string[]) => cells.map((cell, column) => (column === cells.length - 1 ? cell : cell.padEnd(widths[column]!))).join("  ");
  out([line(header), ...rows.map(line)].join("\n"));
}

/** One line of at most `max` characters. */
export function preview(text: string, max = 60): string {
  const flat = text.replace(/\s+/g, " ");
  return flat.length > max ? `${flat.slice(0, max - 1)}…` : flat;
}
