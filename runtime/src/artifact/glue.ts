// Post-processing of the JS glue jco-transpile generates. Every patch is
// verified against the pinned jco-transpile version (see the tests); if a
// pattern is not found the glue is left as generated, which is slower but
// correct.

/** Bump when a patch changes, so cached glue is regenerated. */
export const GLUE_PATCH_LEVEL = 1;

export interface GluePatchReport {
  applied: string[];
  missed: string[];
}

interface Patch {
  name: string;
  find: RegExp;
  replace: string;
}

const PATCHES: Patch[] = [
  {
    // jco's debug logger reads globalThis.process.env.JCO_DEBUG at each of
    // its ~180 call sites on every call: a quarter of a trivial call's time.
    name: "no-debug-log",
    find: /const _debugLog = \(\.\.\.args\) => \{\s*if \(!globalThis\?\.process\?\.env\?\.JCO_DEBUG\) \{ return; \}\s*console\.debug\(\.\.\.args\);\s*\};/,
    replace: "const _debugLog = () => {};",
  },
];

/** Applies the patches to generated glue source. */
export function patchGlue(source: string): { source: string; report: GluePatchReport } {
  const report: GluePatchReport = { applied: [], missed: [] };
  let out = source;
  for (const patch of PATCHES) {
    if (patch.find.test(out)) {
      out = out.replace(patch.find, patch.replace);
      report.applied.push(patch.name);
    } else {
      report.missed.push(patch.name);
    }
  }
  return { source: out, report };
}
