// The scheduler on its own: a fake executor stands in for the worker
// thread (the boundary this layer does not test) and fake timers stand in for
// time, so queue waits, timeouts, reclaims and grace periods are exact and
// take no real time. The end-to-end suite runs the same rules on real threads.
import { EventEmitter } from "node:events";
import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import type { ContextRecord, EventValue } from "@wfn/sdk/abi";
import { resolveFunctionConfig, type FunctionConfigInput } from "../../runtime/src/config/function-config.js";
import { WfnError } from "../../runtime/src/errors.js";
import type { ExecutorEvents, ExecutorHandle } from "../../runtime/src/pool/executor.js";
import { FunctionPool, type ScheduledResult } from "../../runtime/src/pool/pool.js";
import type { LoadableComponent } from "../../runtime/src/pool/protocol.js";
import { Scheduler, type SchedulerOptions } from "../../runtime/src/pool/scheduler.js";
import type { CallResult } from "../../runtime/src/sandbox/instance.js";

interface PendingCall {
  instance: number;
  resolve: (result: CallResult) => void;
  reject: (error: unknown) => void;
}

/** An executor without a thread: instances are numbers, calls wait until the test settles them. */
class FakeExecutor extends EventEmitter<ExecutorEvents> {
  readonly index: number;
  alive = true;
  busy = 0;
  readonly created: number[] = [];
  readonly destroyed: number[] = [];
  readonly abandoned: number[] = [];
  interrupts = 0;
  readonly calls: PendingCall[] = [];
  /** Whether an abandoned instance is confirmed (a guest that can be interrupted). */
  confirmsAbandon = true;
  /** How instance creation goes: ready with this init time, or a promise the test settles. */
  create: (instance: number) => Promise<number> = () => Promise.resolve(5);

  constructor(index: number) {
    super();
    this.index = index;
  }

  createInstance(instance: number): Promise<number> {
    this.created.push(instance);
    return this.create(instance);
  }

  call(instance: number, _event: EventValue, _context: ContextRecord): Promise<CallResult> {
    return new Promise((resolve, reject) => this.calls.push({ instance, resolve, reject }));
  }

  destroyInstance(instance: number): void {
    this.destroyed.push(instance);
  }

  abandon(instance: number): void {
    this.abandoned.push(instance);
    if (this.confirmsAbandon) queueMicrotask(() => this.emit("abandoned", instance));
  }

  interrupt(): void {
    this.interrupts++;
  }

  unload(): void {}
  lend(): void {}
  recall(): void {}
  route(): void {}
  unlisten(): void {}
  async quiesce(): Promise<void> {}
  listen(): Promise<number> {
    return Promise.resolve(0);
  }

  async terminate(reason: WfnError): Promise<void> {
    this.die(reason);
  }

  die(reason: WfnError): void {
    if (!this.alive) return;
    this.alive = false;
    this.emit("exit", reason);
  }

  /** Ends the oldest pending call on `instance` (default: the oldest call). */
  finish(result: Partial<CallResult> = {}, instance?: number): void {
    const at = instance === undefined ? 0 : this.calls.findIndex((call) => call.instance === instance);
    const [call] = this.calls.splice(at, 1);
    if (call === undefined) throw new Error("no call to finish");
    call.resolve({ status: "ok", outcome: { tag: "payload", val: new Uint8Array() }, logs: [], durationMs: 1, memoryBytes: 1024, ...result } as CallResult);
  }
}

let executors: FakeExecutor[];
let scheduler: Scheduler | undefined;

function start(options: Partial<SchedulerOptions> = {}): Scheduler {
  scheduler = new Scheduler({
    executors: 1,
    maxInstances: 16,
    maxQueueLength: 10,
    maxQueueWaitMs: 10_000,
    idleTimeoutMs: 60_000,
    maxInvocationsPerInstance: 0,
    drainTimeoutMs: 1_000,
    ...options,
    startExecutor: (index) => {
      const executor = new FakeExecutor(index);
      executors.push(executor);
      return executor as unknown as ExecutorHandle;
    },
  });
  return scheduler;
}

/** The executor now running at slot 0. */
function current(): FakeExecutor {
  return executors.filter((executor) => executor.alive).at(-1)!;
}

const component = { key: "fake", glueUrl: "", modules: [], images: [], interrupts: [] } satisfies LoadableComponent;

function pool(name: string, config: Partial<FunctionConfigInput> = {}): FunctionPool {
  return new FunctionPool({
    name,
    key: `${name}@1`,
    config: resolveFunctionConfig({ entry: "index.js", ...config }),
    component,
    scheduler: scheduler!,
    instanceSettings: { functionName: name, env: {}, logLimitBytes: 1024, allowedOutboundHosts: [], maxOutboundRequestBytes: 1024, maxOutboundResponseBytes: 1024, maxResponseBytes: 1024, capabilities: [] },
  });
}

const event: EventValue = { tag: "invoke", val: { payload: "null" } };
const context = (): ContextRecord => ({ requestId: "r", functionName: "f", functionVersion: "$LATEST", invokedFunctionArn: "arn", memoryLimitMb: 128, deadlineMs: 0n, clientContext: undefined });

/** Submits a call and keeps its outcome for inspection without an unhandled rejection. */
function submit(target: FunctionPool): { settled: Promise<ScheduledResult | WfnError> } {
  return { settled: target.invoke(event, context()).catch((error: WfnError) => error) };
}

/** Lets promise callbacks run (no time passes). */
const flush = () => vi.advanceTimersByTimeAsync(0);

beforeEach(() => {
  vi.useFakeTimers({ toFake: ["setTimeout", "clearTimeout", "setInterval", "clearInterval", "Date", "performance"] });
  executors = [];
});

afterEach(async () => {
  const closing = scheduler?.close();
  await vi.runAllTimersAsync();
  await closing;
  scheduler = undefined;
  vi.useRealTimers();
});

describe("Scheduler", () => {
  it("runs calls on the warm instance and reuses it", async () => {
    start();
    const hello = pool("hello", { minInstances: 1 });
    const warm = hello.warm();
    await flush();
    await warm;
    expect(current().created).toHaveLength(1);
    for (let i = 0; i < 3; i++) {
      const { settled } = submit(hello);
      await flush();
      current().finish();
      const result = (await settled) as ScheduledResult;
      expect(result).toMatchObject({ status: "done", coldStart: false });
    }
    expect(current().created).toHaveLength(1);
    expect(hello.stats).toMatchObject({ instances: 1, idle: 1, busy: 0 });
  });

  it("starts an instance for a call that finds none, and reports the cold start with its init time", async () => {
    start();
    const cold = pool("cold");
    current().create = () => Promise.resolve(7);
    const { settled } = submit(cold);
    await flush();
    expect(current().created).toHaveLength(1);
    current().finish();
    expect(await settled).toMatchObject({ status: "done", coldStart: true, initMs: 7 });
  });

  it("queues calls beyond maxConcurrency and throttles once maxQueueLength wait", async () => {
    start({ maxQueueLength: 2 });
    const one = pool("one", { maxConcurrency: 1 });
    const first = submit(one);
    const queued = [submit(one), submit(one)];
    const refused = submit(one);
    expect(await refused.settled).toMatchObject({ code: "WFN_THROTTLED" });
    await flush();
    for (let i = 0; i < 3; i++) {
      current().finish();
      await flush();
    }
    expect(await first.settled).toMatchObject({ status: "done" });
    for (const call of queued) expect(await call.settled).toMatchObject({ status: "done", coldStart: false });
    expect(current().created).toHaveLength(1);
  });

  it("throttles a queued call that waited maxQueueWaitMs, not a moment before", async () => {
    start({ maxQueueWaitMs: 5_000 });
    const one = pool("one", { maxConcurrency: 1, timeoutMs: 60_000 });
    submit(one);
    const waiting = submit(one);
    let outcome: unknown;
    void waiting.settled.then((value) => (outcome = value));
    await vi.advanceTimersByTimeAsync(4_999);
    expect(outcome).toBeUndefined();
    await vi.advanceTimersByTimeAsync(1);
    expect(outcome).toMatchObject({ code: "WFN_THROTTLED" });
    expect(one.waiting).toBe(0);
  });

  it("answers a call that overruns timeoutMs as a timeout at its deadline, abandons its instance and never runs it again", async () => {
    start();
    const slow = pool("slow", { timeoutMs: 1_000 });
    const { settled } = submit(slow);
    await flush();
    const [instance] = current().created;
    await vi.advanceTimersByTimeAsync(1_000);
    const result = (await settled) as ScheduledResult;
    expect(result.status).toBe("timeout");
    expect(result.status === "timeout" && result.elapsedMs).toBe(1_000);
    expect(current().abandoned).toEqual([instance]);
    const next = submit(slow);
    await flush();
    expect(current().calls.map((call) => call.instance)).not.toContain(undefined);
    expect(current().calls.at(-1)!.instance).not.toBe(instance);
    current().finish({}, current().calls.at(-1)!.instance);
    expect(await next.settled).toMatchObject({ status: "done", coldStart: true });
    expect(executors).toHaveLength(1); // the executor was never replaced
  });

  it("replaces an executor whose overrunning guest does not stop within the grace period, and fails nothing else", async () => {
    start();
    const spin = pool("spin", { timeoutMs: 1_000 });
    current().confirmsAbandon = false;
    const { settled } = submit(spin);
    await vi.advanceTimersByTimeAsync(1_000);
    expect(await settled).toMatchObject({ status: "timeout" });
    const first = current();
    await vi.advanceTimersByTimeAsync(1_000);
    expect(first.interrupts).toBeGreaterThan(10);
    expect(first.alive).toBe(true);
    await vi.advanceTimersByTimeAsync(1_000);
    expect(first.alive).toBe(false);
    expect(executors).toHaveLength(2);
    const after = submit(spin);
    await flush();
    current().finish();
    expect(await after.settled).toMatchObject({ status: "done" });
  });

  it("a guest that stopped itself past its deadline is a timeout", async () => {
    start();
    const late = pool("late");
    const { settled } = submit(late);
    await flush();
    current().finish({ status: "trap", message: "interrupted", outOfMemory: false, timedOut: true });
    expect(await settled).toMatchObject({ status: "timeout" });
    expect(current().destroyed).toHaveLength(1);
  });

  it("fails the calls of an executor that crashes, starts a new one and warms the minimum there", async () => {
    start();
    const warmed = pool("warmed", { minInstances: 1 });
    const warm = warmed.warm();
    await flush();
    await warm;
    const { settled } = submit(warmed);
    await flush();
    current().die(new WfnError("WFN_EXECUTOR_FAILED", "worker exited with code 1"));
    expect(await settled).toMatchObject({ code: "WFN_EXECUTOR_FAILED" });
    await flush();
    expect(executors).toHaveLength(2);
    expect(current().created).toHaveLength(1);
    expect(warmed.stats).toMatchObject({ instances: 1, idle: 1 });
  });

  it("reclaims idle instances above minInstances once idle for idleTimeoutMs", async () => {
    start({ idleTimeoutMs: 4_000 });
    const bursty = pool("bursty", { minInstances: 1, maxConcurrency: 3 });
    await Promise.all([bursty.warm(), flush()]);
    const calls = [submit(bursty), submit(bursty), submit(bursty)];
    await flush();
    expect(current().created).toHaveLength(3);
    while (current().calls.length > 0) current().finish();
    await Promise.all(calls.map((call) => call.settled));
    await vi.advanceTimersByTimeAsync(3_000);
    expect(current().destroyed).toHaveLength(0);
    await vi.advanceTimersByTimeAsync(2_000);
    expect(current().destroyed).toHaveLength(2);
    expect(bursty.stats.instances).toBe(1);
  });

  it("replaces an instance after maxInvocationsPerInstance calls", async () => {
    start({ maxInvocationsPerInstance: 2 });
    const fn = pool("fn");
    for (let i = 0; i < 3; i++) {
      const { settled } = submit(fn);
      await flush();
      current().finish();
      await settled;
    }
    expect(current().created).toHaveLength(2);
    expect(current().destroyed).toEqual([current().created[0]]);
  });

  it("evicts the least recently used idle instance of another function when the host is at maxInstances", async () => {
    start({ maxInstances: 2 });
    const a = pool("a");
    const b = pool("b");
    const c = pool("c");
    for (const target of [a, b]) {
      const { settled } = submit(target);
      await flush();
      current().finish();
      await settled;
      await vi.advanceTimersByTimeAsync(10);
    }
    const [instanceOfA] = current().created;
    const { settled } = submit(c);
    await flush();
    expect(current().destroyed).toEqual([instanceOfA]);
    current().finish();
    expect(await settled).toMatchObject({ status: "done", coldStart: true });
    expect(a.stats.instances).toBe(0);
    expect(b.stats.instances).toBe(1);
  });

  it("lets a draining pool's running call finish before it removes the instances", async () => {
    start();
    const old = pool("old", { minInstances: 1 });
    await Promise.all([old.warm(), flush()]);
    const { settled } = submit(old);
    await flush();
    let drained = false;
    const draining = old.drain().then(() => (drained = true));
    await flush();
    expect(drained).toBe(false);
    expect(current().destroyed).toHaveLength(0);
    current().finish();
    await draining;
    expect(await settled).toMatchObject({ status: "done" });
    expect(current().destroyed).toHaveLength(1);
  });
});
