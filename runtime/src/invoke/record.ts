// One ended invocation, written down the same way wherever it ran (the main
// thread's invoker, or an executor that answered the HTTP request itself):
// classified, its log (the guest's lines, the host's error, START / END /
// REPORT) sent to `sink`, and its metrics summary.
import { InvocationLog } from "../observe/invocation-log.js";
import type { LogSink } from "../observe/log.js";
import type { InvocationSummary, TriggerKind } from "../observe/telemetry.js";
import type { ScheduledResult } from "../pool/pool.js";
import { classify, type Classified, type InvocationFacts } from "./classify.js";

/** What {@link recordInvocation} made of a call. */
export interface RecordedInvocation {
  classified: Classified;
  /** The invocation's log, already sent to the sink (its Lambda-format text on demand). */
  log: InvocationLog;
  summary: InvocationSummary;
}

/** Classifies a scheduled call, writes its log to `sink` and returns it with its metrics summary; `version` is the version number that ran. */
export function recordInvocation(scheduled: ScheduledResult, facts: InvocationFacts & { version: string; trigger: TriggerKind }, sink: LogSink): RecordedInvocation {
  const classified = classify(scheduled, facts);
  const log = new InvocationLog(sink, { function: facts.functionName, version: facts.functionVersion, requestId: facts.requestId });
  log.guest(classified.guestLogs);
  if (classified.hostError !== undefined) log.host("error", classified.hostError);
  log.finish({ memorySizeMB: facts.memoryMB, initMs: scheduled.initMs, durationMs: classified.durationMs, memoryUsedBytes: classified.memoryUsedBytes, timedOut: classified.timedOut });
  const summary: InvocationSummary = {
    function: facts.functionName,
    version: facts.version,
    trigger: facts.trigger,
    coldStart: scheduled.coldStart,
    ...(scheduled.initMs === undefined ? {} : { initMs: scheduled.initMs }),
    status: classified.result.status,
    durationMs: classified.durationMs,
    ...(classified.errorType === undefined ? {} : { errorType: classified.errorType }),
  };
  return { classified, log, summary };
}
