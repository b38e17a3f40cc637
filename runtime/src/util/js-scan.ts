// Just enough JavaScript lexing to rewrite generated code safely: find where a
// bracket closes and where calls sit, never looking inside strings, template
// text, comments or regular expressions. Not a parser: the code it reads is
// machine-generated (jco's glue) and every rewrite built on it is verified.

const IDENTIFIER = /[\w$#]/;
const SPACE = /\s/;
/** After these a `/` starts a regular expression, not a division. */
const BEFORE_REGEX = new Set(["", "(", ",", "=", ":", "[", "!", "&", "|", "?", "{", "}", ";", "+", "-", "*", "%", "<", ">", "~", "^"]);
const KEYWORDS_BEFORE_REGEX = new Set(["return", "typeof", "case", "do", "else", "in", "of", "new", "delete", "void", "throw", "instanceof", "yield", "await"]);

/**
 * Where the literal or comment starting at `at` ends (the index after it),
 * or -1 when none starts there. `previous` is the last code token before
 * `at` (a punctuator or a word), which tells a regex from a division.
 */
function skipLiteral(source: string, at: number, previous: string): number {
  const c = source[at];
  if (c === "'" || c === '"') {
    let i = at + 1;
    while (i < source.length && source[i] !== c) i += source[i] === "\\" ? 2 : 1;
    return i + 1;
  }
  if (c === "`") return skipTemplate(source, at);
  if (c === "/") {
    const next = source[at + 1];
    if (next === "/") {
      const end = source.indexOf("\n", at);
      return end === -1 ? source.length : end;
    }
    if (next === "*") {
      const end = source.indexOf("*/", at + 2);
      return end === -1 ? source.length : end + 2;
    }
    if (BEFORE_REGEX.has(previous) || KEYWORDS_BEFORE_REGEX.has(previous)) return skipRegex(source, at);
  }
  return -1;
}

function skipTemplate(source: string, at: number): number {
  let i = at + 1;
  while (i < source.length) {
    const c = source[i];
    if (c === "\\") i += 2;
    else if (c === "`") return i + 1;
    else if (c === "$" && source[i + 1] === "{") i = closing(source, i + 1) + 1;
    else i++;
  }
  return i;
}

function skipRegex(source: string, at: number): number {
  let i = at + 1;
  let inClass = false;
  while (i < source.length && source[i] !== "\n") {
    const c = source[i];
    if (c === "\\") i += 2;
    else if (c === "[") (inClass = true), i++;
    else if (c === "]") (inClass = false), i++;
    else if (c === "/" && !inClass) {
      i++;
      while (i < source.length && IDENTIFIER.test(source[i]!)) i++;
      return i;
    } else i++;
  }
  return i;
}

const CLOSER: Record<string, string> = { "(": ")", "[": "]", "{": "}" };

/**
 * Skips the strings, template literals, regular expressions, comments and
 * whitespace from `i`: returns where the next token starts (or the end) and
 * the token before it, as the literal-or-regex decision needs it (a literal
 * counts as its opening character; a comment is not a token and leaves
 * `previous` as it was).
 */
function skipToToken(source: string, i: number, previous: string): { at: number; previous: string } {
  while (i < source.length) {
    const c = source[i]!;
    const end = skipLiteral(source, i, previous);
    if (end !== -1) {
      if (!(c === "/" && (source[i + 1] === "/" || source[i + 1] === "*"))) previous = c;
      i = end;
    } else if (SPACE.test(c)) i++;
    else break;
  }
  return { at: i, previous };
}

/**
 * The index of the bracket that closes the one at `open` (`(`, `[` or `{`),
 * or -1 when it never closes.
 */
export function closing(source: string, open: number): number {
  const stack: string[] = [CLOSER[source[open]!]!];
  let previous = source[open]!;
  let i = open + 1;
  for (;;) {
    ({ at: i, previous } = skipToToken(source, i, previous));
    if (i >= source.length) break;
    const c = source[i]!;
    if (IDENTIFIER.test(c)) {
      const start = i;
      while (i < source.length && IDENTIFIER.test(source[i]!)) i++;
      previous = source.slice(start, i);
      continue;
    }
    if (c in CLOSER) stack.push(CLOSER[c]!);
    else if (c === ")" || c === "]" || c === "}") {
      if (stack.pop() !== c) return -1;
      if (stack.length === 0) return i;
    }
    previous = c;
    i++;
  }
  return -1;
}

/** Code whose evaluation may change state: an assignment, an increment, an await or a yield. */
const EFFECT = /(?<![=!<>])=(?![=>])|\+\+|--|\bawait\b|\byield\b|\bdelete\b/;

export interface CallRemoval {
  source: string;
  /** Calls removed. */
  removed: number;
  /** Calls left where they were: not a statement of their own, or their arguments may have effects. */
  kept: number;
}

/**
 * Removes every statement that is nothing but a call of `callee`
 * (`callee(...);`), when the arguments cannot change state (see EFFECT;
 * strings are not looked into). A call that is part of an expression, or the
 * body of an `if` or `else` without braces, is kept: removing it would
 * change what the code around it means.
 */
export function removeCallStatements(source: string, callee: string): CallRemoval {
  let out = "";
  let copied = 0;
  let removed = 0;
  let kept = 0;
  let previous = "";
  let i = 0;
  for (;;) {
    ({ at: i, previous } = skipToToken(source, i, previous));
    if (i >= source.length) break;
    const c = source[i]!;
    if (!IDENTIFIER.test(c)) {
      previous = c;
      i++;
      continue;
    }
    const start = i;
    while (i < source.length && IDENTIFIER.test(source[i]!)) i++;
    const word = source.slice(start, i);
    const before = previous;
    previous = word;
    if (word !== callee) continue;
    let open = i;
    while (open < source.length && SPACE.test(source[open]!)) open++;
    if (source[open] !== "(" || before === ".") continue;
    const close = closing(source, open);
    let semicolon = close + 1;
    while (semicolon < source.length && SPACE.test(source[semicolon]!)) semicolon++;
    const statement = before === "" || before === ";" || before === "{" || before === "}";
    if (close === -1 || !statement || source[semicolon] !== ";" || EFFECT.test(withoutStrings(source.slice(open + 1, close)))) {
      kept++;
      continue;
    }
    // Take the line with it when the statement is alone on its line.
    const lineStart = source.lastIndexOf("\n", start - 1) + 1;
    const lineEnd = source.indexOf("\n", semicolon);
    const alone = source.slice(lineStart, start).trim() === "" && lineEnd !== -1 && source.slice(semicolon + 1, lineEnd).trim() === "";
    out += source.slice(copied, alone ? lineStart : start);
    copied = alone ? lineEnd + 1 : semicolon + 1;
    i = copied;
    previous = ";";
    removed++;
  }
  return { source: out + source.slice(copied), removed, kept };
}

/**
 * `code` with its comments, strings and plain template literals blanked, so
 * that an `=` in a message is not taken for an assignment. A template with
 * `${}` parts is kept as it is: its expressions are code.
 */
function withoutStrings(code: string): string {
  let out = "";
  let previous = "";
  let i = 0;
  while (i < code.length) {
    const c = code[i]!;
    const end = skipLiteral(code, i, previous);
    if (end !== -1) {
      const literal = code.slice(i, end);
      out += c === "`" && literal.includes("${") ? literal : " ";
      if (!(c === "/" && (code[i + 1] === "/" || code[i + 1] === "*"))) previous = c;
      i = end;
      continue;
    }
    if (!SPACE.test(c)) previous = c;
    out += c;
    i++;
  }
  return out;
}
