// The host's Prometheus metrics: counters and histograms fed by finished
// invocations, gauges read from the host's pools and queues at scrape time.
// Each host has its own registry, so several hosts can share a process.
import { Counter, Gauge, Histogram, Registry } from "prom-client";
import type { InvocationSummary, PoolSnapshot, QueueSnapshot } from "./telemetry.js";

/** Where the gauges come from; each is read once per scrape. */
export interface MetricsSources {
  /** Every function version's instances. */
  pools(): PoolSnapshot[];
  /** Every queue's message counts. */
  queues(): Promise<QueueSnapshot[]>;
  /** Asynchronous invocations accepted but not finished yet. */
  asyncPending(): Promise<number>;
  /** What is prepared (compiled) and what waits to be prepared on first use. */
  prepared?(): { bytes: number; prepared: number; deferred: number };
  /**
   * Told when a source throws; its gauges are then left out of that scrape
   * while the other metrics are still served.
   */
  onSourceError?: (source: MetricsSourceName, error: unknown) => void;
}

/** The name of a gauge source, as passed to `onSourceError`. */
export type MetricsSourceName = "pools" | "queues" | "asyncPending" | "prepared";

const TIMEOUT_ERROR_TYPE = "Sandbox.Timedout";

// Seconds. Invocations run from about a millisecond to the 60-second ceiling
// of a function's timeout; start-ups from a few milliseconds (cached
// component) to seconds (first compilation); asynchronous events can wait
// through retries with backoff for hours.
const DURATION_BUCKETS = [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60];
const INIT_BUCKETS = [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10];
const EVENT_AGE_BUCKETS = [0.01, 0.1, 0.5, 1, 5, 10, 30, 60, 300, 900, 3600, 21600];

type VersionLabel = "function" | "version";

/** A host's metrics, rendered in the Prometheus text exposition format. */
export class Metrics {
  /** The `Content-Type` of what `render()` returns. */
  readonly contentType: string;

  readonly #registry = new Registry();
  readonly #sources: MetricsSources;
  readonly #invocations: Counter<VersionLabel | "trigger" | "status">;
  readonly #errors: Counter<VersionLabel | "type">;
  readonly #throttles: Counter<VersionLabel>;
  readonly #timeouts: Counter<VersionLabel>;
  readonly #duration: Histogram<VersionLabel>;
  readonly #coldStarts: Counter<VersionLabel>;
  readonly #initDuration: Histogram<VersionLabel>;
  readonly #eventAge: Histogram<"function">;
  readonly #bound = new Map<string, { invocations: { inc(): void }; duration: { observe(value: number): void } }>();
  /** The pools as read at the start of the current scrape. */
  #pools: PoolSnapshot[] | undefined;

  constructor(sources: MetricsSources) {
    this.#sources = sources;
    this.contentType = this.#registry.contentType;
    const registers = [this.#registry];
    const byVersion: VersionLabel[] = ["function", "version"];

    this.#invocations = new Counter({
      name: "wfn_invocations_total",
      help: "Invocations finished or refused, by trigger and outcome (ok: answered; error: the function's code threw; failed: stopped by the platform; throttled: refused before running).",
      labelNames: [...byVersion, "trigger", "status"],
      registers,
    });
    this.#errors = new Counter({
      name: "wfn_errors_total",
      help: "Invocations that ended in an error, by error type (the function's own errors and platform failures such as Sandbox.Timedout).",
      labelNames: [...byVersion, "type"],
      registers,
    });
    this.#throttles = new Counter({
      name: "wfn_throttles_total",
      help: "Invocations refused because the function was at its concurrency limit or its wait queue was full.",
      labelNames: byVersion,
      registers,
    });
    this.#timeouts = new Counter({
      name: "wfn_timeouts_total",
      help: "Invocations stopped because they ran past the function's timeout.",
      labelNames: byVersion,
      registers,
    });
    this.#duration = new Histogram({
      name: "wfn_invocation_duration_seconds",
      help: "Time spent running the function's code per invocation, in seconds (throttled invocations are not counted).",
      labelNames: byVersion,
      buckets: DURATION_BUCKETS,
      registers,
    });
    this.#coldStarts = new Counter({
      name: "wfn_cold_starts_total",
      help: "Invocations that had to start a new instance of the function first.",
      labelNames: byVersion,
      registers,
    });
    this.#initDuration = new Histogram({
      name: "wfn_init_duration_seconds",
      help: "Time taken to start a new instance on a cold start, in seconds.",
      labelNames: byVersion,
      buckets: INIT_BUCKETS,
      registers,
    });
    this.#eventAge = new Histogram({
      name: "wfn_async_event_age_seconds",
      help: "Age of an asynchronous event when an attempt to process it starts, in seconds (time since it was accepted, including retries).",
      labelNames: ["function"],
      buckets: EVENT_AGE_BUCKETS,
      registers,
    });

    this.#poolGauge("wfn_concurrent_executions", "Instances running an invocation now.", (pool) => pool.busy);
    this.#poolGauge("wfn_warm_instances", "Idle instances kept warm, ready to run an invocation without a cold start.", (pool) => pool.idle);
    this.#poolGauge("wfn_waiting_invocations", "Invocations waiting for a free instance.", (pool) => pool.waiting);

    const read = this.#read.bind(this);
    new Gauge({
      name: "wfn_queue_messages",
      help: "Messages in each queue: visible (ready to be received), in_flight (received, not yet deleted) and dead_lettered.",
      labelNames: ["queue", "state"],
      registers,
      async collect() {
        const queues = await read("queues", () => sources.queues());
        this.reset();
        for (const queue of queues ?? []) {
          this.set({ queue: queue.queue, state: "visible" }, queue.visible);
          this.set({ queue: queue.queue, state: "in_flight" }, queue.inFlight);
          this.set({ queue: queue.queue, state: "dead_lettered" }, queue.deadLettered);
        }
      },
    });
    new Gauge({
      name: "wfn_async_pending",
      help: "Asynchronous invocations accepted and not finished yet (waiting, running or waiting for a retry).",
      registers,
      async collect() {
        const pending = await read("asyncPending", () => sources.asyncPending());
        this.reset();
        if (pending !== undefined) this.set(pending);
      },
    });
    const prepared = (pick: (held: { bytes: number; prepared: number; deferred: number }) => number) =>
      async function collect(this: Gauge) {
        const held = sources.prepared === undefined ? undefined : await read("prepared", () => sources.prepared!());
        this.reset();
        if (held !== undefined) this.set(pick(held));
      };
    new Gauge({ name: "wfn_prepared_versions", help: "Function versions whose component is prepared (compiled and held).", registers, collect: prepared((held) => held.prepared) });
    new Gauge({ name: "wfn_deferred_versions", help: "Function versions in use to be prepared on their next invocation (not yet prepared since start, or released).", registers, collect: prepared((held) => held.deferred) });
    new Gauge({
      name: "wfn_prepared_idle_bytes",
      help: "Bytes held for prepared versions that have no instance (compiled modules counted once, memory images), kept within maxPreparedMB.",
      registers,
      collect: prepared((held) => held.bytes),
    });
  }

  /** Records one finished or refused invocation. */
  invocation(summary: InvocationSummary): void {
    const labels = { function: summary.function, version: summary.version };
    // prom-client hashes a label object on every update; the hot path keeps the bound children.
    const key = `${summary.function}\u0000${summary.version}\u0000${summary.trigger}\u0000${summary.status}`;
    let bound = this.#bound.get(key);
    if (bound === undefined) {
      bound = { invocations: this.#invocations.labels({ ...labels, trigger: summary.trigger, status: summary.status }), duration: this.#duration.labels(labels) };
      this.#bound.set(key, bound);
    }
    bound.invocations.inc();
    if (summary.status === "throttled") {
      this.#throttles.inc(labels);
      return;
    }
    bound.duration.observe(summary.durationMs / 1000);
    if (summary.status === "error" || summary.status === "failed") {
      this.#errors.inc({ ...labels, type: summary.errorType ?? "Unknown" });
    }
    if (summary.status === "failed" && summary.errorType === TIMEOUT_ERROR_TYPE) this.#timeouts.inc(labels);
    if (summary.coldStart) {
      this.#coldStarts.inc(labels);
      if (summary.initMs !== undefined) this.#initDuration.observe(labels, summary.initMs / 1000);
    }
  }

  /** Records the start of an attempt at an asynchronous event accepted `ageMs` ago. */
  asyncAttempt(fn: string, ageMs: number): void {
    this.#eventAge.observe({ function: fn }, ageMs / 1000);
  }

  /** Every metric, in the Prometheus text exposition format. */
  async render(): Promise<string> {
    // Read once per scrape, for every pool gauge.
    this.#pools = await this.#read("pools", () => this.#sources.pools());
    return this.#registry.metrics();
  }

  #poolGauge(name: string, help: string, value: (pool: PoolSnapshot) => number): void {
    const pools = () => this.#pools;
    new Gauge({
      name,
      help,
      labelNames: ["function", "version"],
      registers: [this.#registry],
      collect() {
        // Reset first: a function removed since the last scrape must lose its series.
        this.reset();
        for (const pool of pools() ?? []) this.set({ function: pool.function, version: pool.version }, value(pool));
      },
    });
  }

  /** Calls a source; undefined when it throws, so one failing source does not fail the scrape. */
  async #read<T>(source: MetricsSourceName, call: () => T | Promise<T>): Promise<T | undefined> {
    try {
      return await call();
    } catch (error) {
      try {
        this.#sources.onSourceError?.(source, error);
      } catch {
        // A failing error handler must not fail the scrape either.
      }
      return undefined;
    }
  }
}
