// Export calls without jco's component-model task bookkeeping. For a JSPI
// export jco creates a task per call, enters it (an exclusive lock on the
// instance), runs the call under a "current task" marker, then resolves and
// exits the task. Once no import looks for the current task (every import
// lowered by glue-imports.ts), the task is read by nothing: the rewrite keeps
// the trap check, the lowering of the arguments, the call, the lifting of the
// result, the post-return call and the error handling, and drops the task. The
// lock it drops is not needed either: a SandboxInstance makes one call at a
// time.
import { closing } from "../util/js-scan.js";
import { applyEdits, type SiteCount } from "./glue-imports.js";
import { matches } from "./glue-template.js";

const PROLOGUE = `
  const hostProvided = false;
  getOrCreateAsyncState(«C»).throwIfTrapped();
  const [task, _wasm_call_currentTaskID] = createNewCurrentTask({ componentIdx: «C», isAsync: false, isManualAsync: true, preserveFutureResult: false, entryFnName: '…', getCallbackFn: () => null, callbackFnName: null, errHandling: '…', callingWasmExport: true, });
  task.setCalleeIsAsync(false);
  const started = await task.enter();
  if (!started) { throw new Error("failed to enter task"); }
  CURRENT_TASK_MAY_BLOCK.value = task.mayBlock() ? 1 : 0;
  if (…!== null) { task.setReturnMemoryIdx(…); task.setReturnMemory((() => …)()); }
  return await _withGlobalCurrentTaskMetaAsync({ taskID: task.id(), componentIdx: task.componentIdx(), fn: async () => {`;
const CALL_CATCH = "{ getOrCreateAsyncState(«C»).markTrapped(err); task.setErrored(err); task.reject(err); task.exit(); return task.completionPromise(); }";
const OUTER_CATCH = "{ if (!task.isResolvedState()) { task.setErrored(err); task.reject(err); } if (!task.isExited()) { task.exit({ skipExclusiveLockCheck: true }); } throw err; }";

const BOOKKEEPING = /\b(task|hostProvided|started|_wasm_call_currentTaskID|_withGlobalCurrentTaskMeta(Async)?|createNewCurrentTask)\b/;

/**
 * Rewrites the manually-async (JSPI) exports. Returns undefined when an
 * import still goes through jco's lowering (it would look for the export's
 * task) or when no export has the expected shape.
 */
export function leanExports(source: string): { source: string; sites: SiteCount } | undefined {
  if (/_lowerImportBackwardsCompat\.bind\(|_suspendingImport\(\d/.test(source)) return undefined;
  const sites: SiteCount = { changed: 0, unchanged: 0 };
  const edits: Array<{ start: number; end: number; text: string }> = [];
  const head = /^( *)async function (\w+\$\d+)\(([\w, ]*)\) \{/gm;
  for (let match = head.exec(source); match !== null; match = head.exec(source)) {
    const open = match.index + match[0].length - 1;
    const close = closing(source, open);
    const body = close === -1 ? undefined : leanBody(source.slice(open + 1, close));
    if (body === undefined) {
      sites.unchanged++;
      continue;
    }
    sites.changed++;
    edits.push({ start: match.index, end: close + 1, text: `${match[1]}async function ${match[2]}(${match[3]}) {\n${body}\n${match[1]}}` });
  }
  if (sites.changed === 0) return undefined;
  return { source: applyEdits(source, edits), sites };
}

function leanBody(body: string): string | undefined {
  const component = /getOrCreateAsyncState\((\d+)\)\.throwIfTrapped\(\);/.exec(body);
  if (component === null) return undefined;
  const C = component[1]!;
  // The prologue ends where the call runs under the task marker: `fn: async () => {`.
  const fnHead = "fn: async () => {";
  const fnAt = body.indexOf(fnHead);
  if (fnAt === -1 || !matches(body.slice(0, fnAt + fnHead.length), PROLOGUE, C)) return undefined;
  const fnOpen = fnAt + fnHead.length - 1;
  const fnClose = closing(body, fnOpen);
  if (fnClose === -1 || !/^\s*,\s*\}\);\s*$/.test(body.slice(fnClose + 1))) return undefined;

  // The callback's body: `try { INNER } catch (err) { OUTER_CATCH }`.
  const fnBody = body.slice(fnOpen + 1, fnClose);
  const tryHead = /^\s*try \{/.exec(fnBody);
  if (tryHead === null) return undefined;
  const tryClose = closing(fnBody, tryHead[0].length - 1);
  const outerCatch = tryClose === -1 ? null : /^\s*catch \(err\) (\{[\s\S]*\})\s*$/.exec(fnBody.slice(tryClose + 1));
  if (outerCatch === null || !matches(outerCatch[1]!, OUTER_CATCH, C)) return undefined;
  let inner = fnBody.slice(tryHead[0].length, tryClose);

  // The core call: `try { ret = await _withGlobalCurrentTaskMeta({ ..., fn: () => CALL, }); } catch (err) { CALL_CATCH }`.
  const call = /try \{\s*ret = +await _withGlobalCurrentTaskMeta\(\{\s*taskID: task\.id\(\),\s*componentIdx: task\.componentIdx\(\),\s*fn: \(\) => (\w+\([\w, ]*\)),\s*\}\);\s*\} catch \(err\) /.exec(inner);
  if (call === null) return undefined;
  const catchOpen = call.index + call[0].length;
  const catchClose = inner[catchOpen] === "{" ? closing(inner, catchOpen) : -1;
  if (catchClose === -1 || !matches(inner.slice(catchOpen, catchClose + 1), CALL_CATCH, C)) return undefined;
  inner =
    inner.slice(0, call.index) +
    `try {\n            ret = await ${call[1]};\n          } catch (err) {\n            getOrCreateAsyncState(${C}).markTrapped(err);\n            throw err;\n          }` +
    inner.slice(catchClose + 1);

  // The task resolves with the result and exits after the post-return call: once each.
  const resolve = [...inner.matchAll(/^\s*task\.resolve\(\[[\w.]+\]\);\n/gm)];
  const exit = [...inner.matchAll(/^\s*task\.exit\(\);\n/gm)];
  if (resolve.length !== 1 || exit.length !== 1) return undefined;
  inner = inner.replace(resolve[0]![0], "\n").replace(exit[0]![0], "\n");
  if (BOOKKEEPING.test(inner)) return undefined;
  // What `task.mayBlock()` said of a manually-async task.
  return `    getOrCreateAsyncState(${C}).throwIfTrapped();\n    CURRENT_TASK_MAY_BLOCK.value = 1;\n${inner.replace(/^\n+/, "").replace(/\s+$/, "")}`;
}
