// Import calls without jco's component-model task bookkeeping. For every core
// import jco generates a trampoline that lifts the arguments, calls the host,
// lowers the result, and around that creates a host task, enters, resolves and
// exits it; the binding wraps the trampoline in `_lowerImportBackwardsCompat`,
// which creates a subtask of the caller's task first. For a host function
// called by a guest that is not itself a component-model async task (wfn's
// world: one `handle` export, lifted synchronously, called one at a time per
// instance) none of that is observable: the rewrite keeps the lift, the host
// call, the trampoline's own error handling and the lower, and drops the rest.
import { closing } from "../util/js-scan.js";
import { matches } from "./glue-template.js";

export interface SiteCount {
  changed: number;
  unchanged: number;
}

/** A generated trampoline: `const _trampolineN = [async ]function(params) { body }`. */
interface Trampoline {
  n: string;
  suspending: boolean;
  params: string;
  /** Where `const _trampolineN` starts and where its closing brace ends. */
  start: number;
  end: number;
  body: string;
}

/** What the binding `let trampolineN = ...` tells about the import. */
interface Binding {
  start: number;
  end: number;
  componentIdx: string;
  /** The core function returns nothing: its result, if any, is written through a pointer. */
  voidCore: boolean;
}

/**
 * Rewrites the trampolines of one kind (synchronous or suspending) and their
 * bindings; a trampoline that does not have exactly the expected shape is
 * left as generated. Returns undefined when nothing matched.
 */
export function leanImports(source: string, suspending: boolean): { source: string; sites: SiteCount } | undefined {
  if (!/function _checkMayLeave\(componentIdx\)/.test(source)) return undefined;
  const edits: Array<{ start: number; end: number; text: string }> = [];
  const sites: SiteCount = { changed: 0, unchanged: 0 };
  for (const trampoline of trampolines(source)) {
    if (trampoline.suspending !== suspending) continue;
    const binding = bindingOf(source, trampoline.n);
    const body = binding === undefined ? undefined : (suspending ? leanSuspendingBody : leanSyncBody)(trampoline.body, binding);
    if (binding === undefined || body === undefined) {
      sites.unchanged++;
      continue;
    }
    sites.changed++;
    edits.push({ start: trampoline.start, end: trampoline.end, text: `const _trampoline${trampoline.n} = function(${trampoline.params}) {\n${body}\n  }` });
    edits.push({
      start: binding.start,
      end: binding.end,
      // A suspending import may still return a plain value; JSPI then resumes the guest at once.
      text: suspending ? `let trampoline${trampoline.n} = new WebAssembly.Suspending(_trampoline${trampoline.n});\n` : `let trampoline${trampoline.n} = _trampoline${trampoline.n};\n`,
    });
  }
  if (sites.changed === 0) return undefined;
  return { source: applyEdits(source, edits), sites };
}

/** `source` with each non-overlapping range replaced, in one pass (the glue is 800 KB). */
export function applyEdits(source: string, edits: ReadonlyArray<{ start: number; end: number; text: string }>): string {
  const pieces: string[] = [];
  let at = 0;
  for (const edit of [...edits].sort((a, b) => a.start - b.start)) {
    pieces.push(source.slice(at, edit.start), edit.text);
    at = edit.end;
  }
  pieces.push(source.slice(at));
  return pieces.join("");
}

function* trampolines(source: string): Generator<Trampoline> {
  const head = /const _trampoline(\d+) = (async )?function\(([\w, ]*)\) \{/g;
  for (let match = head.exec(source); match !== null; match = head.exec(source)) {
    const n = match[1]!;
    const open = match.index + match[0].length - 1;
    const close = closing(source, open);
    if (close === -1) continue;
    const after = source.slice(close + 1, close + 200);
    const named = new RegExp(`^\\n\\s*_trampoline${n}\\.fnName = '[^']*';\\n(\\s*_trampoline${n}\\.manuallyAsync = true;\\n)?`).exec(after);
    if (named === null) continue;
    // jco makes exactly the imports listed in asyncImports async functions and marks them manually async.
    const suspending = match[2] !== undefined;
    if (suspending !== (named[1] !== undefined)) continue;
    yield { n, suspending, params: match[3]!, start: match.index, end: close + 1, body: source.slice(open + 1, close) };
  }
}

/**
 * `let trampolineN = _trampolineN.manuallyAsync ? new WebAssembly.Suspending(_suspendingImport(C, _lowerImportBackwardsCompat.bind(null, {...}))) : _lowerImportBackwardsCompat.bind(null, {...});`
 * with the same options on both sides, for a synchronous function type.
 */
function bindingOf(source: string, n: string): Binding | undefined {
  const head = `let trampoline${n} = _trampoline${n}.manuallyAsync ? new WebAssembly.Suspending(`;
  const start = source.indexOf(head);
  if (start === -1 || source.indexOf(head, start + 1) !== -1) return undefined;
  const open = start + head.length - 1;
  const close = closing(source, open);
  const alternative = " : _lowerImportBackwardsCompat.bind(";
  if (close === -1 || !source.startsWith(alternative, close + 1)) return undefined;
  const open2 = close + alternative.length;
  const close2 = closing(source, open2);
  if (close2 === -1 || !source.startsWith(";\n", close2 + 1)) return undefined;
  const suspendingSide = /^_suspendingImport\((\d+), _lowerImportBackwardsCompat\.bind\(\s*null,\s*(\{[\s\S]*\}),\s*\)\)$/.exec(source.slice(open + 1, close));
  const plainSide = /^\s*null,\s*(\{[\s\S]*\}),\s*$/.exec(source.slice(open2 + 1, close2));
  if (suspendingSide === null || plainSide === null || suspendingSide[2] !== plainSide[1]) return undefined;
  const componentIdx = suspendingSide[1]!;
  const options = plainSide[1]!;
  const required = [`componentIdx: ${componentIdx},`, "isAsync: false,", "funcTypeIsAsync: false,", `isManualAsync: _trampoline${n}.manuallyAsync,`, `importFn: _trampoline${n},`];
  if (!required.every((option) => options.includes(option))) return undefined;
  return {
    start,
    end: close2 + 3,
    componentIdx,
    voidCore: options.includes("hasResultPointer: true,") || options.includes("resultLowerFns: [],"),
  };
}

const TASK_CREATION = `
  const hostProvided = true;
  let parentTask; let task; let subtask;
  const createTask = () => {
    const results = createNewCurrentTask({ componentIdx: -1, isAsync: false, entryFnName: '…', getCallbackFn: () => null, callbackFnName: null, errHandling: '…', callingWasmExport: false, });
    task = results[0];
  };
  taskCreation: {
    parentTask = getCurrentTask( «C», _getGlobalCurrentTaskMeta(«C»)?.taskID, )?.task;
    if (!parentTask) { createTask(); break taskCreation; }
    createTask();
    if (hostProvided) {
      subtask = parentTask.getLatestSubtask();
      if (!subtask) { throw new Error(\`…\`); }
      task.setParentSubtask(subtask);
    }
  }`;
const SYNC_ENTRY = `${TASK_CREATION} const started = task.enterSync();`;
const ASYNC_ENTRY = `${TASK_CREATION} const started = await task.enter({ isHost: hostProvided }); if (!started) { throw new Error("failed to enter task"); }`;

/** The catch blocks jco puts around a host call: a trap (the component is marked trapped, the error rethrown) or a `result` import's conversion of the error into its `err` case. */
const TRAP_CATCH = "{ getOrCreateAsyncState(«C»).markTrapped(err); task.setErrored(err); task.reject(err); task.exit(); throw err; }";
// jco's async variant returns the host task's completion promise, which never settles for a
// host task: the guest would hang. Like the synchronous form, the rewrite rethrows (a trap).
const ASYNC_TRAP_CATCH = "{ getOrCreateAsyncState(«C»).markTrapped(err); task.setErrored(err); task.reject(err); task.exit(); return task.completionPromise(); }";
const RESULT_CATCH = "{ if (getOrCreateAsyncState(«C»).markTrapped(e)) { throw e; } ret = { tag: 'err', val: getErrorPayload(e) }; }";
const HOST_CALL_OPTIONS = "{ componentIdx: task.componentIdx(), taskID: task.id(), fn: () => _trackHostOperation(() => …), }";

/** Names that must not be left once the bookkeeping is gone. */
const BOOKKEEPING = /\b(task|subtask|parentTask|hostProvided|started|createTask|_withGlobalCurrentTaskMeta(Async)?|_trackHostOperation|createNewCurrentTask|getCurrentTask)\b/;

/** A trampoline body taken apart: lift, the try/catch around the host call, lower. */
interface Parts {
  /** Lifting the arguments, up to `let ret;`. */
  lift: string;
  /** `try { ... } catch (x) { ... }` with the host call replaced by `«CALL»` and the catch block rewritten. */
  guarded: string;
  /** The host call expression. */
  call: string;
  /** Lowering the result, without the task's resolve and exit. */
  lower: string;
}

function takeApart(body: string, binding: Binding, suspending: boolean): Parts | undefined {
  const C = binding.componentIdx;
  // The task: from `const hostProvided` to `task.enterSync()`, or to the check after `await task.enter()`.
  const taskStart = body.indexOf("const hostProvided = true;");
  if (taskStart === -1) return undefined;
  let taskEnd: number;
  if (suspending) {
    const enter = body.indexOf("const started = await task.enter({ isHost: hostProvided });", taskStart);
    const check = enter === -1 ? -1 : body.indexOf("if (!started) {", enter);
    taskEnd = check === -1 ? -1 : closing(body, check + "if (!started) ".length) + 1;
  } else {
    const enter = body.indexOf("const started = task.enterSync();", taskStart);
    taskEnd = enter === -1 ? -1 : enter + "const started = task.enterSync();".length;
  }
  if (taskEnd <= 0 || !matches(body.slice(taskStart, taskEnd), suspending ? ASYNC_ENTRY : SYNC_ENTRY, C)) return undefined;
  const lift = body.slice(0, taskStart);
  const rest = body.slice(taskEnd);

  // `let ret;` then the try statement that holds the host call.
  const guard = /^\s*let ret;\s*try \{/.exec(rest);
  if (guard === null) return undefined;
  const tryOpen = guard[0].length - 1;
  const tryClose = closing(rest, tryOpen);
  const catchHead = tryClose === -1 ? null : /^\s*catch \((err|e)\) \{/.exec(rest.slice(tryClose + 1));
  if (catchHead === null) return undefined;
  const catchOpen = tryClose + catchHead[0].length;
  const catchClose = closing(rest, catchOpen);
  if (catchClose === -1) return undefined;

  const tryBlock = rest.slice(tryOpen, tryClose + 1);
  const callHead = suspending ? /await\s+_withGlobalCurrentTaskMetaAsync\(/g : /_withGlobalCurrentTaskMeta\(/g;
  const heads = [...tryBlock.matchAll(callHead)];
  if (heads.length !== 1) return undefined;
  const callOpen = heads[0]!.index + heads[0]![0].length - 1;
  const callClose = closing(tryBlock, callOpen);
  if (callClose === -1 || !matches(tryBlock.slice(callOpen + 1, callClose), HOST_CALL_OPTIONS, C)) return undefined;
  const track = tryBlock.indexOf("_trackHostOperation(() => ", callOpen);
  const trackClose = closing(tryBlock, track + "_trackHostOperation".length);
  // Parenthesised: it replaces an argument, and may stand where an operator binds tighter.
  const call = `(${tryBlock.slice(track + "_trackHostOperation(() => ".length, trackClose).trim()})`;

  const catchBlock = rest.slice(catchOpen, catchClose + 1);
  let newCatch: string;
  if (catchHead[1] === "err" && matches(catchBlock, suspending ? ASYNC_TRAP_CATCH : TRAP_CATCH, C)) {
    newCatch = `{\n      getOrCreateAsyncState(${C}).markTrapped(err);\n      throw err;\n    }`;
  } else if (catchHead[1] === "e" && matches(catchBlock, RESULT_CATCH, C)) {
    newCatch = catchBlock;
  } else return undefined;
  const guarded = `try ${tryBlock.slice(0, heads[0]!.index)}«CALL»${tryBlock.slice(callClose + 1)} catch (${catchHead[1]}) ${newCatch}`;

  // The end: the task resolves with what the trampoline returns, then exits.
  const after = rest.slice(catchClose + 1);
  const ending = /\btask\.resolve\(\[([^;\n]*)\]\);\s*task\.exit\(\);\s*(?:return ([^;\n]+);\s*)?$/.exec(after);
  if (ending === null) return undefined;
  // `_lowerImportBackwardsCompat` handed the core function what the task resolved with, not
  // what the trampoline returned: the same (pure) expression, or nothing for a core function
  // without results.
  if (ending[2] === undefined ? !binding.voidCore : ending[2] !== ending[1]) return undefined;
  const lower = after.slice(0, ending.index) + (ending[2] === undefined ? "" : `return ${ending[2]};`);

  if ([lift, guarded, lower].some((part) => BOOKKEEPING.test(part))) return undefined;
  return { lift, guarded, call, lower };
}

function leanSyncBody(body: string, binding: Binding): string | undefined {
  const parts = takeApart(body, binding, false);
  if (parts === undefined) return undefined;
  return [`    _checkMayLeave(${binding.componentIdx});`, parts.lift.replace(/^\n/, ""), "    let ret;", `    ${parts.guarded.replace("«CALL»", parts.call)}`, parts.lower.replace(/\s+$/, "")].join("\n");
}

/**
 * A suspending import as a plain function: the lowering runs as soon as the
 * host's value is there, at once when the host returned it, after it settles
 * when the host returned a promise (which the function then returns, so JSPI
 * suspends the guest until it settles).
 */
function leanSuspendingBody(body: string, binding: Binding): string | undefined {
  const parts = takeApart(body, binding, true);
  if (parts === undefined) return undefined;
  // The try block first rethrows what the host threw, so that its catch sees it as before.
  const guarded = parts.guarded.replace(/^try \{/, "try {\n      if (_wfnFailed) throw _wfnValue;").replace("«CALL»", "_wfnValue");
  return [
    `    _checkMayLeave(${binding.componentIdx});`,
    parts.lift.replace(/^\n/, ""),
    "    const _wfnSettle = (_wfnFailed, _wfnValue) => {",
    "    let ret;",
    `    ${guarded}`,
    parts.lower.replace(/\s+$/, ""),
    "    };",
    "    let _wfnValue;",
    "    try {",
    `      _wfnValue = ${parts.call};`,
    "    } catch (err) {",
    "      return _wfnSettle(true, err);",
    "    }",
    "    if (_wfnValue !== null && (typeof _wfnValue === 'object' || typeof _wfnValue === 'function') && typeof _wfnValue.then === 'function') {",
    "      return Promise.resolve(_wfnValue).then((value) => _wfnSettle(false, value), (error) => _wfnSettle(true, error));",
    "    }",
    "    return _wfnSettle(false, _wfnValue);",
  ].join("\n");
}
