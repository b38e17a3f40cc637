// The host's triggers, listed in one table. A trigger follows each
// function's configuration (`sync`, after every change to what is deployed),
// starts once the host has loaded what it serves and stops with it. The HTTP
// trigger is the exception: it is the app's catch-all route (./http.ts) and
// reads the deployments' route table, which switches with the registry.
import type { EventValue } from "@wfn/sdk/abi";
import type { FunctionConfig } from "../config/function-config.js";
import type { HostQueues, InvokeOptions } from "../host-types.js";
import type { InvocationResult } from "../invocation.js";
import type { LogSink } from "../observe/log.js";
import type { QueueSnapshot } from "../observe/telemetry.js";
import type { HostSettings } from "../settings.js";
import type { Store } from "../store/store.js";
import { AsyncInvocations } from "./async.js";
import { Queues } from "./queues.js";
import { Schedules } from "./schedules.js";

/** One kind of trigger, as the host drives it. */
export interface Trigger {
  readonly kind: string;
  /** Before anything is loaded: take back what a previous host left in the store. */
  recover?(): Promise<void>;
  /** Follows a function's configuration (undefined: the function is gone). */
  sync?(fn: string, config: FunctionConfig | undefined): Promise<void> | void;
  /** Once the host has loaded what it serves. */
  start?(): void;
  close(): Promise<void> | void;
}

/** What the triggers need from the rest of the host. */
export interface TriggersPort {
  store: Store;
  log: LogSink;
  settings: Pick<HostSettings, "asyncRetryDelayMs" | "asyncLeaseMs" | "asyncPollMs" | "asyncConcurrency">;
  dispatch(name: string, event: EventValue, options: InvokeOptions): Promise<InvocationResult>;
  /** The qualifier serving a function's routed traffic (undefined: `$LATEST`). */
  trafficQualifier(name: string): string | undefined;
  /** The configuration serving a function's traffic. */
  trafficConfig(name: string): FunctionConfig | undefined;
  arn(name: string, qualifier?: string): string;
  onAsyncAttempt(name: string, ageMs: number): void;
}

export class Triggers {
  readonly queues: Queues;
  readonly schedules: Schedules;
  readonly async: AsyncInvocations;
  /** In the order they close: schedules stop firing before the queues and async invocations they feed. */
  readonly #table: readonly Trigger[];
  readonly #log: LogSink;

  constructor(port: TriggersPort) {
    this.#log = port.log;
    const traffic = (name: string) => port.trafficQualifier(name);
    const queues = new Queues(port.store, (name, event) => port.dispatch(name, event, withQualifier(traffic(name))), port.log);
    const invocations = new AsyncInvocations({
      store: port.store,
      run: (name, event, options) => port.dispatch(name, event, { requestId: options.requestId, ...withQualifier(options.qualifier) }),
      settings: (name) => {
        const config = port.trafficConfig(name);
        return config === undefined ? undefined : { async: config.async, timeoutMs: config.timeoutMs };
      },
      sendToQueue: async (queue, body) => void (await queues.send(queue, [{ body }])),
      arn: (name, qualifier) => port.arn(name, qualifier),
      log: port.log,
      retryDelayMs: port.settings.asyncRetryDelayMs,
      leaseMs: port.settings.asyncLeaseMs,
      pollMs: port.settings.asyncPollMs,
      concurrency: port.settings.asyncConcurrency,
      onAttempt: (name, ageMs) => port.onAsyncAttempt(name, ageMs),
    });
    const schedules = new Schedules(port.store, (name, event, requestId) => invocations.accept(name, event, requestId, traffic(name)), port.log);
    this.queues = queues;
    this.schedules = schedules;
    this.async = invocations;
    this.#table = [
      { kind: "schedule", sync: (fn, config) => schedules.set(fn, config?.schedule), close: () => schedules.close() },
      { kind: "queue", sync: (fn, config) => queues.subscribe(fn, config?.queue, config?.maxConcurrency ?? 0), close: () => queues.close() },
      { kind: "async", recover: () => invocations.recover(), start: () => invocations.start(), close: () => invocations.close() },
    ];
  }

  /** Takes back what a previous host left claimed in the store. */
  async recover(): Promise<void> {
    for (const trigger of this.#table) await trigger.recover?.();
  }

  /** Makes every trigger follow a function's configuration; a trigger that refuses it is logged, the others still follow. */
  async sync(fn: string, config: FunctionConfig | undefined): Promise<void> {
    for (const trigger of this.#table) {
      try {
        await trigger.sync?.(fn, config);
      } catch (error) {
        this.#log({ time: Date.now(), level: "error", source: "host", message: `function ${fn}: ${(error as Error).message}` });
      }
    }
  }

  start(): void {
    for (const trigger of this.#table) trigger.start?.();
  }

  async close(): Promise<void> {
    for (const trigger of this.#table) await trigger.close();
  }

  /** The queues as embedders see them (`host.queues`). */
  hostQueues(): HostQueues {
    const { queues } = this;
    return {
      send: async (queue, body, attributes, options) => (await queues.send(queue, [{ body, ...(attributes === undefined ? {} : { attributes }), ...(options ?? {}) }]))[0]!,
      stats: () => queues.stats(),
      peek: (queue, limit) => queues.peek(queue, limit),
      deadLetters: (queue, limit) => queues.deadLetters(queue, limit),
      redrive: (queue) => queues.redrive(queue),
    };
  }

  /** Every queue's depth, for metrics. */
  async queueSnapshots(): Promise<QueueSnapshot[]> {
    return (await this.queues.stats()).map((q) => ({ queue: q.name, visible: q.visible, inFlight: q.inFlight, deadLettered: q.deadLettered }));
  }
}

function withQualifier(qualifier: string | undefined): { qualifier?: string } {
  return qualifier === undefined ? {} : { qualifier };
}
