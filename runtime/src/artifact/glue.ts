// Post-processing of the JS glue jco-transpile generates. Every patch is
// verified against the pinned jco-transpile version (see the tests); if a
// pattern is not found the glue is left as generated, which is slower but
// correct.
import { removeCallStatements } from "../util/js-scan.js";
import { leanExports } from "./glue-exports.js";
import { leanImports, type SiteCount } from "./glue-imports.js";

/** Bump when a patch or the transpile options (prepare.ts) change, so cached glue is regenerated. */
export const GLUE_PATCH_LEVEL = 5;

/** The import name under which patched glue looks for {@link GlueHooks}. */
export const GLUE_HOOKS_IMPORT = "wfn:glue";

/** What a host may pass to patched glue as `imports["wfn:glue"]`. */
export interface GlueHooks {
  /**
   * Wraps each core export the glue calls synchronously from JS (the
   * allocators, the post-return function), once at instantiation; `name` is
   * the export's. Exports the glue hands to other core instances are never
   * wrapped: a JS frame between two wasm frames would stop JSPI suspending.
   */
  guard?: <F extends (...args: never[]) => unknown>(fn: F, name: string) => F;
}

export interface GluePatchReport {
  applied: string[];
  missed: string[];
  /** For a patch that rewrites many sites: how many it changed and how many it left as generated. */
  sites: Record<string, SiteCount>;
}

/** A named rewrite of the glue; `apply` returns undefined when its pattern is not there. */
interface Patch {
  name: string;
  apply(source: string): { source: string; sites?: SiteCount } | undefined;
}

/** A patch that replaces one match of a pattern. */
function replacing(name: string, find: RegExp, replacement: string): Patch {
  return { name, apply: (source) => (find.test(source) ? { source: source.replace(find, replacement) } : undefined) };
}

const PATCHES: Patch[] = [
  // jco's debug logger reads globalThis.process.env.JCO_DEBUG at each of
  // its ~330 call sites on every call: a quarter of a trivial call's time.
  replacing(
    "no-debug-log",
    /const _debugLog = \(\.\.\.args\) => \{\s*if \(!globalThis\?\.process\?\.env\?\.JCO_DEBUG\) \{ return; \}\s*console\.debug\(\.\.\.args\);\s*\};/,
    "const _debugLog = () => {};",
  ),
  // Even a no-op logger has its arguments built at each call: object literals, task ids, strings.
  { name: "drop-debug-log-calls", apply: dropDebugLogCalls },
  // StarlingMonkey makes dozens of import calls per invocation; jco wraps each in two tasks.
  { name: "lean-sync-imports", apply: (source) => leanImports(source, false) },
  { name: "lean-suspending-imports", apply: (source) => leanImports(source, true) },
  // With no import looking for it, the task jco creates for each call of `handle` is read by nothing.
  { name: "lean-exports", apply: leanExports },
  { name: "guard-core-calls", apply: guardCoreCalls },
];

function dropDebugLogCalls(source: string): { source: string; sites: SiteCount } | undefined {
  const { source: out, removed, kept } = removeCallStatements(source, "_debugLog");
  return removed === 0 ? undefined : { source: out, sites: { changed: removed, unchanged: kept } };
}

/**
 * Routes the core exports the glue calls itself (`realloc0 =
 * exports1.cabi_realloc`, `postReturn0 = exports1.cabi_post_handle`)
 * through the optional {@link GlueHooks.guard}.
 */
function guardCoreCalls(source: string): { source: string; sites: SiteCount } | undefined {
  const head = /^export function instantiate\(getCoreModule, (\w+), instantiateCore[^\n]*\{\n/m.exec(source);
  if (head === null) return undefined;
  const imports = head[1]!;
  let changed = 0;
  const body = source
    .slice(head.index + head[0].length)
    .replace(/^(\s*)((?:realloc|postReturn)\d+(?:Async)?) = (exports\d+)\.(\w+);$/gm, (_, indent: string, name: string, exports: string, member: string) => {
      changed++;
      return `${indent}${name} = _wfnGuard(${exports}.${member}, '${member}');`;
    });
  if (changed === 0) return undefined;
  const hook = `  const _wfnGuard = ${imports}[${JSON.stringify(GLUE_HOOKS_IMPORT)}]?.guard ?? ((fn) => fn);\n`;
  return { source: source.slice(0, head.index + head[0].length) + hook + body, sites: { changed, unchanged: 0 } };
}

/** Applies the patches to generated glue source. */
export function patchGlue(source: string): { source: string; report: GluePatchReport } {
  const report: GluePatchReport = { applied: [], missed: [], sites: {} };
  let out = source;
  for (const patch of PATCHES) {
    const patched = patch.apply(out);
    if (patched === undefined) report.missed.push(patch.name);
    else {
      out = patched.source;
      report.applied.push(patch.name);
      if (patched.sites !== undefined) report.sites[patch.name] = patched.sites;
    }
  }
  return { source: out, report };
}
