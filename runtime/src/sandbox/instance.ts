// One sandboxed instance: a transpiled component instantiated with its own
// capabilities. A call is a promise: the component's `handle` export is
// promising (JSPI), so while the guest waits on the host (a timer, a fetch, a
// queue send) its stack is suspended and the thread runs other instances.
// One call at a time per instance; an instance that trapped or was
// abandoned is never called again.
import type { ContextRecord, EventValue, FunctionErrorRecord, OutcomeValue } from "@wfn/sdk/abi";
import type { GuestLogEntry } from "./capabilities/logs.js";
import { writeMemoryImage, type MemoryImage } from "../util/wasm-binary.js";
import type { CallState } from "./call-state.js";
import { createImports, LogCollector, type Capabilities } from "./imports.js";
import { fromHost, guardCoreCall, guestRuns, guestWaits, interruptImports, Interrupted, type InterruptSupply, type PreparedMemories } from "./interrupt.js";
import { GLUE_HOOKS_IMPORT, type GlueHooks } from "../artifact/glue.js";
import { incomingHandlerOf, proxyHandle } from "./proxy.js";

/** What patched glue asks of the host: core exports it calls from JavaScript go through the guard. */
const GLUE_HOOKS: GlueHooks = { guard: guardCoreCall };

/** The module jco-transpile generates (instantiation mode "sync"). */
export interface ComponentGlue {
  instantiate(
    getCoreModule: (name: string) => WebAssembly.Module,
    imports: Record<string, object>,
    instantiateCore?: (module: WebAssembly.Module, imports: WebAssembly.Imports) => WebAssembly.Instance,
  ): { handle?(event: EventValue, context: ContextRecord): Promise<OutcomeValue> } & Record<string, unknown>;
}

/** How a call ended. */
export type CallStatus =
  | { status: "ok"; outcome: OutcomeValue }
  | { status: "error"; error: FunctionErrorRecord }
  | {
      status: "trap";
      message: string;
      outOfMemory: boolean;
      /** The guest stopped itself at an interrupt check past its deadline: its invocation timed out. */
      timedOut?: boolean;
    };

export type CallResult = CallStatus & {
  logs: GuestLogEntry[];
  durationMs: number;
  /** Size of the instance's linear memory after the call, in bytes (Lambda's "Max Memory Used"). */
  memoryBytes: number;
};

type HandleExport = (event: EventValue, context: ContextRecord) => Promise<OutcomeValue>;

export class SandboxInstance {
  readonly #handle: HandleExport;
  readonly #logs: LogCollector;
  readonly #call: CallState;
  readonly #memory: () => number;
  readonly #mapStacks: ((text: string) => string) | undefined;
  #trapped = false;

  private constructor(handle: HandleExport, logs: LogCollector, call: CallState, memory: () => number, mapStacks: ((text: string) => string) | undefined) {
    this.#handle = handle;
    this.#logs = logs;
    this.#call = call;
    this.#memory = memory;
    this.#mapStacks = mapStacks;
  }

  /**
   * Instantiates a component; throws if instantiation fails. With `interrupt`,
   * its instrumented engine module gets the executor's interrupt memory (see
   * ./interrupt.ts), so that a call computing past its deadline can be stopped;
   * with `memories` too (from `prepareMemories`), the memories it imports are
   * those, already written. `id` is the executor's number for the instance,
   * recorded while its guest computes. `mapStacks` rewrites positions in
   * the function's bundle, in its log lines and error stacks, to its sources.
   */
  static create(
    glue: ComponentGlue,
    modules: ReadonlyMap<string, WebAssembly.Module>,
    images: ReadonlyMap<WebAssembly.Module, MemoryImage>,
    capabilities: Capabilities,
    { interrupt, memories, id = 0, mapStacks }: { interrupt?: InterruptSupply; memories?: PreparedMemories; id?: number; mapStacks?: (text: string) => string } = {},
  ): SandboxInstance {
    const logs = new LogCollector(capabilities.logLimitBytes);
    const call: CallState = { deadlineMs: 0, abandoned: false, running: false, instance: id };
    let memory: WebAssembly.Memory | undefined;
    const exports = glue.instantiate(
      (name) => {
        const module = modules.get(name);
        if (module === undefined) throw new Error(`the component asked for an unknown core module ${name}`);
        return module;
      },
      { ...createImports(capabilities, logs, call), [GLUE_HOOKS_IMPORT]: GLUE_HOOKS },
      // Instantiating runs start functions: not a stack that may be suspended.
      (module, imports) => fromHost(() => {
        const image = images.get(module);
        const instrumented = interrupt === undefined ? undefined : interruptImports(interrupt, module, image, call, memories?.get(module));
        if (instrumented !== undefined) {
          memory ??= instrumented.memory;
          return new WebAssembly.Instance(module, { ...imports, ...instrumented.imports });
        }
        const instance = new WebAssembly.Instance(module, imports);
        if (memory === undefined && instance.exports.memory instanceof WebAssembly.Memory) memory = instance.exports.memory;
        // Before the next core module is instantiated (it may write into this memory too).
        if (image !== undefined) writeMemoryImage(instance.exports.memory as WebAssembly.Memory, image);
        return instance;
      }),
    );
    // A wfn-world component exports `handle`; a wasi:http/proxy one, wasi:http/incoming-handler.
    const proxy = exports.handle === undefined ? incomingHandlerOf(exports) : undefined;
    const handle = exports.handle ?? (proxy === undefined ? undefined : proxyHandle(proxy));
    if (handle === undefined) throw new Error("the component exports neither `handle` nor wasi:http/incoming-handler");
    return new SandboxInstance(handle, logs, call, () => memory?.buffer.byteLength ?? 0, mapStacks);
  }

  get trapped(): boolean {
    return this.#trapped;
  }

  /**
   * Gives the instance up (its invocation timed out): a wait it is suspended
   * in never returns, so its stack is never resumed, and it is not called
   * again. Whatever it still holds is freed once nothing refers to it.
   */
  abandon(): void {
    this.#call.abandoned = true;
    this.#trapped = true;
  }

  async call(event: EventValue, context: ContextRecord): Promise<CallResult> {
    const started = performance.now();
    this.#call.deadlineMs = Number(context.deadlineMs);
    this.#call.running = true;
    let status: CallStatus;
    try {
      let outcome: Promise<OutcomeValue>;
      guestRuns(this.#call.instance);
      try {
        outcome = this.#handle(event, context);
      } finally {
        // It returned or suspended; when it resumes, the import it waited in says so.
        guestWaits();
      }
      status = { status: "ok", outcome: await outcome };
    } catch (thrown) {
      status = classify(thrown);
      if (status.status === "trap") this.#trapped = true;
    } finally {
      this.#call.running = false;
      guestWaits();
    }
    const logs = this.#logs.take();
    if (status.status === "trap" && !status.outOfMemory) {
      status.outOfMemory = logs.some((entry) => entry.level === "error" && /out of memory/i.test(entry.message));
      // StarlingMonkey's words when the handler's promise is pending and nothing is left to settle it.
      if (logs.some((entry) => entry.level === "error" && entry.message.includes("event loop error, but no exception is pending"))) {
        status.message = NEVER_SETTLED;
      }
    }
    const map = this.#mapStacks;
    if (map !== undefined) {
      for (const entry of logs) entry.message = map(entry.message);
      if (status.status === "error" && status.error.stack !== undefined) status.error = { ...status.error, stack: map(status.error.stack) };
    }
    return { ...status, logs, durationMs: performance.now() - started, memoryBytes: this.#memory() };
  }
}

const NEVER_SETTLED =
  "the handler returned a promise that never settled, and nothing was left for it to wait on (no timer, no fetch in flight): resolve or reject it on every path";

/** The guest glue reports an engine out-of-memory as a function error of this type; the instance is then unusable. */
const OUT_OF_MEMORY_TYPE = "Runtime.OutOfMemory";

function classify(thrown: unknown): CallStatus {
  if (isFunctionError(thrown)) {
    if (thrown.errorType === OUT_OF_MEMORY_TYPE) return { status: "trap", message: thrown.message, outOfMemory: true };
    return { status: "error", error: thrown };
  }
  if (thrown instanceof Interrupted) return { status: "trap", message: thrown.message, outOfMemory: false, timedOut: true };
  const message = thrown instanceof Error ? thrown.message : String(thrown);
  return { status: "trap", message, outOfMemory: /out of memory|could not allocate|memory\.grow/i.test(message) };
}

function isFunctionError(value: unknown): value is FunctionErrorRecord {
  return (
    typeof value === "object" &&
    value !== null &&
    !(value instanceof Error) &&
    typeof (value as FunctionErrorRecord).errorType === "string" &&
    typeof (value as FunctionErrorRecord).message === "string"
  );
}
