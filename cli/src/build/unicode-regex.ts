// StarlingMonkey's SpiderMonkey is built without the Unicode property data
// that `\p{...}` needs: a regular expression literal such as /[\p{L}\p{N}]/u
// is a SyntaxError when the bundle is parsed, and the whole function fails
// to load (marked, jose, ajv's fast-uri and many other packages carry one).
// esbuild's lowering (`supported`) moves only some of them to run time, and
// moved, they still throw. This plugin rewrites each such literal into the
// equivalent explicit code-point ranges (regexpu-core, Babel's rewriter), in
// the JavaScript files that contain one, before esbuild bundles them.
import { readFile } from "node:fs/promises";
import { createRequire } from "node:module";
import { dirname } from "node:path";
import type * as esbuild from "esbuild";
import { tokenizer, tokTypes, type Options } from "acorn";

type RewritePattern = (pattern: string, flags: string, options: Record<string, string>) => string;
const rewritePattern = createRequire(import.meta.url)("regexpu-core") as RewritePattern;

const PROPERTY_ESCAPE = /\\[pP]\{/;

/** The esbuild plugin: for StarlingMonkey builds only (QuickJS has the property data). */
export const lowerUnicodePropertyEscapes: esbuild.Plugin = {
  name: "wfn-unicode-property-escapes",
  setup(build) {
    build.onLoad({ filter: /\.[cm]?js$/ }, async (args) => {
      if (args.namespace !== "file") return undefined;
      const source = await readFile(args.path, "utf8");
      if (!PROPERTY_ESCAPE.test(source)) return undefined;
      const rewritten = rewriteRegExpLiterals(source);
      return rewritten === source ? undefined : { contents: rewritten, loader: "js", resolveDir: dirname(args.path) };
    });
  },
};

/**
 * `source` with every regular expression literal that uses a Unicode
 * property escape rewritten without it; unchanged when it cannot be
 * tokenized (esbuild then reports the file's own syntax error, if any).
 */
export function rewriteRegExpLiterals(source: string): string {
  const edits: Array<{ start: number; end: number; text: string }> = [];
  for (const sourceType of ["module", "script"] as const) {
    edits.length = 0;
    try {
      const options: Options = { ecmaVersion: "latest", sourceType, allowHashBang: true, allowReturnOutsideFunction: true, allowAwaitOutsideFunction: true };
      for (const token of tokenizer(source, options)) {
        if (token.type !== tokTypes.regexp) continue;
        const { pattern, flags } = (token as unknown as { value: { pattern: string; flags: string } }).value;
        if (!PROPERTY_ESCAPE.test(pattern) || !/[uv]/.test(flags)) continue;
        edits.push({ start: token.start, end: token.end, text: `/${rewrite(pattern, flags)}/${flags.replace("v", "u")}` });
      }
      break;
    } catch {
      if (sourceType === "script") return source;
    }
  }
  let out = source;
  for (const edit of edits.reverse()) out = out.slice(0, edit.start) + edit.text + out.slice(edit.end);
  return out;
}

function rewrite(pattern: string, flags: string): string {
  try {
    return rewritePattern(pattern, flags, { unicodePropertyEscapes: "transform", unicodeSetsFlag: "transform" });
  } catch {
    return pattern;
  }
}
