// The small JavaScript lexer the glue patches rely on: brackets and calls are
// found in code only, never inside strings, templates, comments or regexes.
import { describe, expect, it } from "vitest";
import { closing, removeCallStatements } from "../../runtime/src/util/js-scan.js";

describe("closing", () => {
  it("finds the bracket that closes, past brackets inside literals and comments", () => {
    const code = `f(a, ")", '(', \`\${g(")")} )\`, /\\)[)]/g, // )\n b /* ) */, [1, {x: (2)}]) + 1`;
    expect(code.slice(0, closing(code, 1) + 1)).toBe(code.slice(0, code.lastIndexOf(")") + 1));
  });

  it("tells a division from a regex by what comes before it", () => {
    const code = "(a / b / c, x) / 2";
    expect(closing(code, 0)).toBe(code.indexOf(")"));
  });

  it("returns -1 for a bracket that never closes or closes with the wrong one", () => {
    expect(closing("(a, [b)", 0)).toBe(-1);
    expect(closing("(a, 'b)'", 0)).toBe(-1);
  });
});

describe("removeCallStatements", () => {
  it("removes calls that are statements of their own, with their line", () => {
    const code = "{\n  log('a', { x: f(1) });\n  work();\n  log(`t ${x}`);\n}\n";
    expect(removeCallStatements(code, "log")).toEqual({ source: "{\n  work();\n}\n", removed: 2, kept: 0 });
  });

  it("keeps calls that are part of an expression or the unbraced body of an if", () => {
    const code = "if (x) log(1);\nconst y = log(2);\na ? log(3) : 0;\nobj.log(4);\nreturn () => log(5);\n";
    const result = removeCallStatements(code, "log");
    expect(result.source).toBe(code);
    expect(result.removed).toBe(0);
  });

  it("keeps calls whose arguments change state", () => {
    const code = "log(i++);\nlog(x = 1);\nlog({ a: await p });\nlog('a = b', x === 1, y => y);\n";
    const result = removeCallStatements(code, "log");
    expect(result.source).toBe("log(i++);\nlog(x = 1);\nlog({ a: await p });\n");
    expect(result).toMatchObject({ removed: 1, kept: 3 });
  });

  it("does not see calls inside strings, templates or comments", () => {
    const code = "const s = 'log(1);';\n// log(2);\nconst t = `log(3);`;\n/* log(4); */\n";
    expect(removeCallStatements(code, "log")).toEqual({ source: code, removed: 0, kept: 0 });
  });

  it("leaves a longer name alone", () => {
    const code = "_log(1);\nlogger(2);\n";
    expect(removeCallStatements(code, "log").removed).toBe(0);
  });
});
