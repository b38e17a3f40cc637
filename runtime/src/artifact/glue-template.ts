// Comparing a piece of generated glue with the shape a patch expects, so that
// a patch changes only code it has read in full.
import { removeCallStatements } from "../util/js-scan.js";

/** Whitespace collapsed, jco's debug logging left out: the form templates are written in. */
export function normalized(code: string): string {
  return removeCallStatements(code, "_debugLog").source.replace(/\s+/g, " ").trim();
}

/**
 * Whether `code` is `template`, whitespace aside, where `«C»` stands for
 * `componentIdx` and `…` for any text without quotes.
 */
export function matches(code: string, template: string, componentIdx: string): boolean {
  const pattern = template
    .replace(/\s+/g, " ")
    .trim()
    .split(/(«C»|…)/)
    .map((part) => (part === "«C»" ? componentIdx : part === "…" ? "[^'\"`]*" : part.replace(/[.*+?^${}()|[\]\\]/g, "\\$&")))
    .join("");
  return new RegExp(`^${pattern}$`).test(normalized(code));
}
