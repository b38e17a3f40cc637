// The rewrite of Unicode property escapes for StarlingMonkey, whose engine
// has no Unicode property data (the end-to-end check: marked, ajv and jose
// in test/compat.test.ts).
import { describe, expect, it } from "vitest";
import { rewriteRegExpLiterals } from "../../cli/src/build/unicode-regex.js";

/** Evaluates a rewritten expression. */
const evaluate = (source: string): unknown => new Function(`return (${source});`)();

describe("rewriteRegExpLiterals", () => {
  it("turns property escapes, inside and outside classes, into explicit ranges that match the same", () => {
    const source = String.raw`[/[\p{L}\p{N}]+/u, /\P{ASCII}/u, /^\p{Lu}/v]`;
    const rewritten = rewriteRegExpLiterals(source);
    expect(rewritten).not.toMatch(/\\[pP]\{/);
    const [word, nonAscii, upper] = evaluate(rewritten) as RegExp[];
    for (const text of ["héllo", "日本", "42", "-", " "]) expect(word!.test(text), text).toBe(/[\p{L}\p{N}]+/u.test(text));
    expect(nonAscii!.test("é")).toBe(true);
    expect(nonAscii!.test("e")).toBe(false);
    expect(upper!.test("Ünter")).toBe(true);
    expect(upper!.flags).toBe("u");
  });

  it("leaves strings, comments, divisions and other regular expressions alone", () => {
    const source = String.raw`const a = "\p{L}"; // /\p{L}/u
const b = 4 / 2 / 1; const c = /\d+/g; const d = /\p{L}/; const e = \`\p{L}\`;`;
    expect(rewriteRegExpLiterals(source)).toBe(source);
  });

  it("leaves a file it cannot tokenize as it is", () => {
    const broken = String.raw`const x = /\p{L}/u; const s = "unterminated`;
    expect(rewriteRegExpLiterals(broken)).toBe(broken);
  });

  it("rewrites CommonJS with a top-level return", () => {
    const source = String.raw`if (module) return; exports.r = /\p{Lu}/u;`;
    expect(rewriteRegExpLiterals(source)).not.toContain(String.raw`\p{Lu}`);
  });
});
