// The Prometheus metrics, read back from the exposition text a scraper sees.
import { describe, expect, it } from "vitest";
import { Metrics, type MetricsSources } from "../../runtime/src/observe/metrics.js";
import type { InvocationSummary, PoolSnapshot, QueueSnapshot } from "../../runtime/src/observe/telemetry.js";

interface Sample {
  name: string;
  labels: Record<string, string>;
  value: number;
}

/** The sample lines of a Prometheus text exposition. */
function parse(text: string): Sample[] {
  const samples: Sample[] = [];
  for (const line of text.split("\n")) {
    if (line === "" || line.startsWith("#")) continue;
    const match = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{(.*)\})? (\S+)$/.exec(line);
    if (match === null) throw new Error(`not a sample line: ${line}`);
    const labels: Record<string, string> = {};
    for (const [, key, value] of (match[2] ?? "").matchAll(/([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"/g)) labels[key!] = value!;
    samples.push({ name: match[1]!, labels, value: Number(match[3]) });
  }
  return samples;
}

/** Every series of one metric, as `label=value,...` → value, for exact comparison. */
function series(text: string, name: string): Record<string, number> {
  const found: Record<string, number> = {};
  for (const sample of parse(text)) {
    if (sample.name !== name) continue;
    const key = Object.entries(sample.labels)
      .sort(([a], [b]) => a.localeCompare(b))
      .map(([k, v]) => `${k}=${v}`)
      .join(",");
    found[key] = sample.value;
  }
  return found;
}

function sources(overrides: Partial<MetricsSources> = {}): MetricsSources {
  return { pools: () => [], queues: async () => [], asyncPending: async () => 0, ...overrides };
}

function summary(fields: Partial<InvocationSummary>): InvocationSummary {
  return { function: "hello", version: "1", trigger: "http", status: "ok", durationMs: 5, coldStart: false, ...fields };
}

describe("Metrics", () => {
  it("counts invocations by function, version, trigger and status", async () => {
    const metrics = new Metrics(sources());
    metrics.invocation(summary({}));
    metrics.invocation(summary({}));
    metrics.invocation(summary({ trigger: "queue" }));
    metrics.invocation(summary({ status: "error", errorType: "TypeError" }));
    metrics.invocation(summary({ status: "failed", errorType: "Sandbox.Timedout", durationMs: 3000 }));
    metrics.invocation(summary({ status: "throttled", durationMs: 0 }));
    metrics.invocation(summary({ function: "other", version: "7", status: "throttled", durationMs: 0 }));

    const text = await metrics.render();
    expect(series(text, "wfn_invocations_total")).toEqual({
      "function=hello,status=ok,trigger=http,version=1": 2,
      "function=hello,status=ok,trigger=queue,version=1": 1,
      "function=hello,status=error,trigger=http,version=1": 1,
      "function=hello,status=failed,trigger=http,version=1": 1,
      "function=hello,status=throttled,trigger=http,version=1": 1,
      "function=other,status=throttled,trigger=http,version=7": 1,
    });
    expect(series(text, "wfn_errors_total")).toEqual({
      "function=hello,type=TypeError,version=1": 1,
      "function=hello,type=Sandbox.Timedout,version=1": 1,
    });
    expect(series(text, "wfn_throttles_total")).toEqual({ "function=hello,version=1": 1, "function=other,version=7": 1 });
    expect(series(text, "wfn_timeouts_total")).toEqual({ "function=hello,version=1": 1 });
  });

  it("only counts a failure as a timeout when its error type is Sandbox.Timedout", async () => {
    const metrics = new Metrics(sources());
    metrics.invocation(summary({ status: "failed", errorType: "Runtime.OutOfMemory" }));
    metrics.invocation(summary({ status: "error", errorType: "Sandbox.Timedout" }));
    const text = await metrics.render();
    expect(series(text, "wfn_timeouts_total")).toEqual({});
    expect(series(text, "wfn_errors_total")).toEqual({
      "function=hello,type=Runtime.OutOfMemory,version=1": 1,
      "function=hello,type=Sandbox.Timedout,version=1": 1,
    });
  });

  it("observes durations in seconds, leaving throttled invocations out", async () => {
    const metrics = new Metrics(sources());
    metrics.invocation(summary({ durationMs: 4 }));
    metrics.invocation(summary({ durationMs: 1500 }));
    metrics.invocation(summary({ status: "throttled", durationMs: 0 }));

    const text = await metrics.render();
    const labels = "function=hello,version=1";
    expect(series(text, "wfn_invocation_duration_seconds_count")).toEqual({ [labels]: 2 });
    expect(series(text, "wfn_invocation_duration_seconds_sum")[labels]).toBeCloseTo(1.504, 9);
    const buckets = series(text, "wfn_invocation_duration_seconds_bucket");
    expect(buckets[`function=hello,le=0.001,version=1`]).toBe(0);
    expect(buckets[`function=hello,le=0.005,version=1`]).toBe(1);
    expect(buckets[`function=hello,le=1,version=1`]).toBe(1);
    expect(buckets[`function=hello,le=2.5,version=1`]).toBe(2);
    expect(buckets[`function=hello,le=60,version=1`]).toBe(2);
  });

  it("counts cold starts and observes their start-up time", async () => {
    const metrics = new Metrics(sources());
    metrics.invocation(summary({ coldStart: true, initMs: 250 }));
    metrics.invocation(summary({ coldStart: true }));
    metrics.invocation(summary({ coldStart: false }));

    const text = await metrics.render();
    expect(series(text, "wfn_cold_starts_total")).toEqual({ "function=hello,version=1": 2 });
    expect(series(text, "wfn_init_duration_seconds_count")).toEqual({ "function=hello,version=1": 1 });
    expect(series(text, "wfn_init_duration_seconds_sum")).toEqual({ "function=hello,version=1": 0.25 });
  });

  it("observes the age of asynchronous events by function", async () => {
    const metrics = new Metrics(sources());
    metrics.asyncAttempt("hello", 2_000);
    metrics.asyncAttempt("hello", 120_000);
    const text = await metrics.render();
    expect(series(text, "wfn_async_event_age_seconds_count")).toEqual({ "function=hello": 2 });
    expect(series(text, "wfn_async_event_age_seconds_sum")).toEqual({ "function=hello": 122 });
    expect(series(text, "wfn_async_event_age_seconds_bucket")["function=hello,le=60"]).toBe(1);
  });

  it("reads pool, queue and async gauges from the host at scrape time", async () => {
    let pools: PoolSnapshot[] = [
      { function: "hello", version: "1", busy: 2, idle: 3, waiting: 1 },
      { function: "gone", version: "4", busy: 0, idle: 1, waiting: 0 },
    ];
    let queues: QueueSnapshot[] = [{ queue: "orders", visible: 5, inFlight: 2, deadLettered: 1 }];
    let pending = 3;
    const metrics = new Metrics(sources({ pools: () => pools, queues: async () => queues, asyncPending: async () => pending }));

    let text = await metrics.render();
    expect(series(text, "wfn_concurrent_executions")).toEqual({ "function=hello,version=1": 2, "function=gone,version=4": 0 });
    expect(series(text, "wfn_warm_instances")).toEqual({ "function=hello,version=1": 3, "function=gone,version=4": 1 });
    expect(series(text, "wfn_waiting_invocations")).toEqual({ "function=hello,version=1": 1, "function=gone,version=4": 0 });
    expect(series(text, "wfn_queue_messages")).toEqual({
      "queue=orders,state=visible": 5,
      "queue=orders,state=in_flight": 2,
      "queue=orders,state=dead_lettered": 1,
    });
    expect(series(text, "wfn_async_pending")).toEqual({ "": 3 });

    pools = [{ function: "hello", version: "1", busy: 0, idle: 5, waiting: 0 }];
    queues = [];
    pending = 0;
    text = await metrics.render();
    expect(series(text, "wfn_concurrent_executions")).toEqual({ "function=hello,version=1": 0 });
    expect(series(text, "wfn_warm_instances")).toEqual({ "function=hello,version=1": 5 });
    expect(series(text, "wfn_waiting_invocations")).toEqual({ "function=hello,version=1": 0 });
    expect(series(text, "wfn_queue_messages")).toEqual({});
    expect(series(text, "wfn_async_pending")).toEqual({ "": 0 });
  });

  it("still serves the other metrics when a source throws, and reports the failure", async () => {
    const failures: string[] = [];
    const metrics = new Metrics({
      pools: () => {
        throw new Error("pools unavailable");
      },
      queues: () => Promise.reject(new Error("store closed")),
      asyncPending: async () => 4,
      onSourceError: (source, error) => failures.push(`${source}: ${(error as Error).message}`),
    });
    metrics.invocation(summary({}));

    const text = await metrics.render();
    expect(series(text, "wfn_invocations_total")).toEqual({ "function=hello,status=ok,trigger=http,version=1": 1 });
    expect(series(text, "wfn_async_pending")).toEqual({ "": 4 });
    expect(series(text, "wfn_concurrent_executions")).toEqual({});
    expect(series(text, "wfn_queue_messages")).toEqual({});
    expect(failures).toContain("pools: pools unavailable");
    expect(failures).toContain("queues: store closed");
  });

  it("drops a gauge's old series when its source starts failing", async () => {
    let fail = false;
    const metrics = new Metrics(
      sources({
        pools: () => {
          if (fail) throw new Error("boom");
          return [{ function: "hello", version: "1", busy: 1, idle: 0, waiting: 0 }];
        },
      }),
    );
    expect(series(await metrics.render(), "wfn_concurrent_executions")).toEqual({ "function=hello,version=1": 1 });
    fail = true;
    expect(series(await metrics.render(), "wfn_concurrent_executions")).toEqual({});
  });

  it("keeps each host's metrics apart and describes every metric", async () => {
    const a = new Metrics(sources());
    const b = new Metrics(sources());
    a.invocation(summary({}));

    expect(series(await a.render(), "wfn_invocations_total")).toEqual({ "function=hello,status=ok,trigger=http,version=1": 1 });
    const text = await b.render();
    expect(series(text, "wfn_invocations_total")).toEqual({});
    expect(b.contentType).toMatch(/^text\/plain; version=0\.0\.4/);

    const names = [
      "wfn_invocations_total",
      "wfn_errors_total",
      "wfn_throttles_total",
      "wfn_timeouts_total",
      "wfn_invocation_duration_seconds",
      "wfn_cold_starts_total",
      "wfn_init_duration_seconds",
      "wfn_concurrent_executions",
      "wfn_warm_instances",
      "wfn_waiting_invocations",
      "wfn_queue_messages",
      "wfn_async_pending",
      "wfn_async_event_age_seconds",
    ];
    for (const name of names) expect(text).toMatch(new RegExp(`^# HELP ${name} \\S.{20,}$`, "m"));
  });
});
