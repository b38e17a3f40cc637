// Post-processing of the JS glue jco-transpile generates. Every patch is
// verified against the pinned jco-transpile version (see the tests); if a
// pattern is not found the glue is left as generated, which is slower but
// correct.

/** Bump when a patch changes, so cached glue is regenerated. */
export const GLUE_PATCH_LEVEL = 2;

export interface GluePatchReport {
  applied: string[];
  missed: string[];
}

/** A named rewrite of the glue; `apply` returns undefined when its pattern is not there. */
interface Patch {
  name: string;
  apply(source: string): string | undefined;
}

/** A patch that replaces one match of a pattern. */
function replacing(name: string, find: RegExp, replacement: string): Patch {
  return { name, apply: (source) => (find.test(source) ? source.replace(find, replacement) : undefined) };
}

const PATCHES: Patch[] = [
  // jco's debug logger reads globalThis.process.env.JCO_DEBUG at each of
  // its ~180 call sites on every call: a quarter of a trivial call's time.
  replacing(
    "no-debug-log",
    /const _debugLog = \(\.\.\.args\) => \{\s*if \(!globalThis\?\.process\?\.env\?\.JCO_DEBUG\) \{ return; \}\s*console\.debug\(\.\.\.args\);\s*\};/,
    "const _debugLog = () => {};",
  ),
  { name: "direct-clock-now", apply: directClockNow },
];

/**
 * StarlingMonkey reads `wasi:clocks/monotonic-clock.now` 20 to 40 times per
 * invocation. jco lowers every import through its component-model task
 * bookkeeping (a task, a subtask, promises), which for this synchronous,
 * argument-less import returning a u64 does nothing observable: the patch
 * binds the core import straight to the host function.
 */
function directClockNow(source: string): string | undefined {
  const named = /_trampoline(\d+)\.fnName = 'wasi:clocks\/monotonic-clock@[\d.]+#now';/.exec(source);
  if (named === null) return undefined;
  const n = named[1]!;
  const binding = new RegExp(`let trampoline${n} = _trampoline${n}\\.manuallyAsync \\?[\\s\\S]*?importFn: _trampoline${n},\\n\\s*\\},\\n\\s*\\);\\n`);
  if (!binding.test(source) || !/const \{ now, [^}]*\} = imports\['wasi:clocks\/monotonic-clock'\];/.test(source) || !/function toUint64\(val\)/.test(source)) return undefined;
  return source.replace(binding, `let trampoline${n} = () => toUint64(now());\n`);
}

/** Applies the patches to generated glue source. */
export function patchGlue(source: string): { source: string; report: GluePatchReport } {
  const report: GluePatchReport = { applied: [], missed: [] };
  let out = source;
  for (const patch of PATCHES) {
    const patched = patch.apply(out);
    if (patched === undefined) report.missed.push(patch.name);
    else {
      out = patched;
      report.applied.push(patch.name);
    }
  }
  return { source: out, report };
}
