// The data plane of an executor that accepts HTTP connections itself
// (./README.md, "The data plane"). Every executor listens on the host's port
// (`reusePort`: the kernel spreads connections over them); a request for a
// function's route runs here, on an instance the scheduler lent this
// executor, and its response is written here — no other thread is involved.
// Anything else (no idle lent instance, the host's own routes, the Invoke
// API, a route this executor does not know yet) is forwarded to the main
// thread's own server, which answers it exactly as it answers everything
// when executors do not accept connections. Runs on the executor's thread.
import { randomUUID } from "node:crypto";
import { Agent, createServer, request as httpRequest, type ClientRequest, validateHeaderName, validateHeaderValue, type IncomingMessage, type OutgoingHttpHeaders, type Server, type ServerResponse } from "node:http";
import type { AddressInfo, Socket } from "node:net";
import { performance, type EventLoopUtilization } from "node:perf_hooks";
import type { ContextRecord, HttpRequestRecord } from "@wfn/sdk/abi";
import { authorizationAllows } from "../api/auth.js";
import { WfnError } from "../errors.js";
import { readChunks, tooLarge } from "../http/body.js";
import { errorResponse } from "../http/errors.js";
import type { InvocationResult } from "../invocation.js";
import { recordInvocation } from "../invoke/record.js";
import type { LogRecord } from "../observe/log.js";
import type { InvocationSummary } from "../observe/telemetry.js";
import type { SandboxInstance } from "../sandbox/instance.js";
import { beforeNextSlice, INTERRUPT_FLAGS } from "../sandbox/interrupt.js";
import { clientAddressOf, type HeaderView } from "../triggers/client-address.js";
import { HOP_BY_HOP, invocationResponse, NULL_BODY_STATUS } from "../triggers/http.js";
import { RouteTable } from "../triggers/routes.js";
import { RECYCLE_AT_MEMORY_SHARE, throttled, type ScheduledResult } from "./pool.js";
import type { FromExecutor, ListenSettings, RoutedTarget, RoutedVersion, RoutingSnapshot } from "./protocol.js";

/** The header an executor adds to what it forwards: `<secret> <client address> <draw> <its index, when it had no idle instance>` (the main thread strips it). */
export const FORWARD_HEADER = "x-wfn-forwarded-by-executor";
/** Per-client connection counters in {@link ListenSettings.connections}. */
export const CONNECTION_BUCKETS = 1024;
/**
 * Event-loop utilization at which an executor keeps requests for its own busy lent instances rather than
 * forward them (`WFN_EXECUTOR_WAIT_AT`: 0 always, above 1 never). A busy thread spends less on a request
 * that waits one invocation here than on two more hops; one with time to spare forwards, so that the main
 * thread sees the demand and grows the pool. A/B in ./README.md.
 */
const WAIT_AT_UTILIZATION = utilizationSetting(process.env.WFN_EXECUTOR_WAIT_AT, 0.7);
/** The shortest stretch of the event loop the utilization is measured over, in ms. */
const UTILIZATION_EVERY_MS = 100;

/** Counts one more request waiting on an executor in a pool's queue, unless the queue (main thread's and executors') is full. */
function joinQueue(queue: Int32Array, max: number): boolean {
  for (;;) {
    const onExecutors = Atomics.load(queue, 1);
    if (Atomics.load(queue, 0) + onExecutors >= max) return false;
    if (Atomics.compareExchange(queue, 1, onExecutors, onExecutors + 1) === onExecutors) return true;
  }
}

function utilizationSetting(value: string | undefined, fallback: number): number {
  const parsed = value === undefined || value.trim() === "" ? Number.NaN : Number(value);
  return Number.isFinite(parsed) && parsed >= 0 ? parsed : fallback;
}


/** An instance lent to this executor. */
interface Lent {
  id: number;
  pool: string;
  idleTimeoutMs: number;
  /** Shared with the scheduler: word 0 is 1 while a request runs on it (its pool's statistics read it). */
  running: Int32Array;
  recalled: boolean;
  lastUsedAt: number;
}

/** A request waiting for an instance lent here: it runs on the next one freed, or goes to the main thread. */
interface Waiter {
  run(lent: Lent): void;
  forward(): void;
}

/** What the front end needs from the executor it runs in. */
export interface FrontEndPort {
  instances: Map<number, SandboxInstance>;
  reply(message: FromExecutor): void;
  /** The executor's interrupt memory, as words. */
  flags: Int32Array;
  /** The executor's position among the host's executors (sent with what it forwards). */
  index: number;
}

export class FrontEnd {
  readonly #port: FrontEndPort;
  /** Lent instances by number, and the idle ones of each pool (most recently used last). */
  readonly #lent = new Map<number, Lent>();
  readonly #idle = new Map<string, Lent[]>();
  /** Requests waiting for a busy instance lent here, per pool (at most one per such instance). */
  readonly #waiters = new Map<string, Waiter[]>();
  /** Each pool's queue counts, shared with the scheduler (FunctionPool.queue). */
  readonly #queues = new Map<string, Int32Array>();
  /** Whether this thread's event loop was busy over the last measure (see {@link WAIT_AT_UTILIZATION}), and that measure. */
  #busy = false;
  #utilization: EventLoopUtilization | undefined;
  #routing: RoutingSnapshot = { routes: [], targets: {} };
  #table = new RouteTable([]);
  #settings: ListenSettings | undefined;
  /** The settings of the listener unlisten() stopped, for the requests that were waiting then. */
  #drainingSettings: ListenSettings | undefined;
  #server: Server | undefined;
  /** Servers stopped by unlisten() whose connections may still be open. */
  readonly #stopped = new Set<Server>();
  /** Every connection accepted and not yet closed, of this server or one stopped before it. */
  readonly #open = new Set<Socket>();
  #agent: Agent | undefined;
  #connections: Int32Array | undefined;
  #logs: LogRecord[] = [];
  #invocations: InvocationSummary[] = [];
  #flushQueued = false;
  /** Responses to write right after the next batch of records is sent. */
  #answers: Array<() => void> = [];
  #sweep: NodeJS.Timeout | undefined;

  constructor(port: FrontEndPort) {
    this.#port = port;
  }

  /** Whether `instance` is lent here (then the scheduler does not send it calls). */
  holds(instance: number): boolean {
    return this.#lent.has(instance);
  }

  route(snapshot: RoutingSnapshot): void {
    this.#routing = snapshot;
    this.#table = new RouteTable(snapshot.routes);
  }

  lend(instance: number, pool: string, idleTimeoutMs: number, running: SharedArrayBuffer, queue: SharedArrayBuffer): void {
    if (!this.#queues.has(pool)) this.#queues.set(pool, new Int32Array(queue));
    if (!this.#port.instances.has(instance)) return void this.#port.reply({ op: "lost", instance });
    const lent: Lent = { id: instance, pool, idleTimeoutMs, running: new Int32Array(running), recalled: false, lastUsedAt: Date.now() };
    this.#lent.set(instance, lent);
    const waiter = this.#waiters.get(pool)?.shift();
    if (waiter !== undefined) waiter.run(lent);
    else this.#idleOf(pool).push(lent);
    this.#sweep ??= setInterval(() => this.#returnStale(), Math.max(1000, Math.min(30_000, idleTimeoutMs / 4))).unref();
  }

  recall(instance: number): void {
    const lent = this.#lent.get(instance);
    if (lent === undefined) return;
    if (isBusy(lent)) lent.recalled = true;
    else this.#giveBack(lent);
  }

  /** The scheduler destroyed or forgot the instance. */
  forget(instance: number): void {
    const lent = this.#lent.get(instance);
    if (lent === undefined) return;
    this.#lent.delete(instance);
    this.#unidle(lent);
    this.#overflow(lent.pool);
  }

  async listen(settings: ListenSettings): Promise<number> {
    this.#settings = settings;
    this.#drainingSettings = undefined;
    this.#connections = new Int32Array(settings.connections);
    // Idle connections to the main thread are closed here before its server's 5 s keep-alive timeout
    // closes them there, so that a forwarded request is not sent on one the main thread is closing.
    this.#agent = new Agent({ keepAlive: true, timeout: MAIN_IDLE_MS });
    const server = (this.#server = createServer((req, res) => this.#handle(req, res)));
    server.on("connection", (socket: Socket) => this.#admit(socket));
    server.on("clientError", (_error, socket) => {
      if (socket.writable) socket.end("HTTP/1.1 400 Bad Request\r\nconnection: close\r\n\r\n");
      else socket.destroy();
    });
    await new Promise<void>((resolve, reject) => {
      server.once("error", reject);
      server.listen({ port: settings.port, host: settings.hostname, reusePort: true }, () => {
        server.off("error", reject);
        resolve();
      });
    });
    return (server.address() as AddressInfo).port;
  }

  /**
   * Stops accepting and resolves once every connection this executor
   * accepted is closed: each as soon as its answer is out and it is idle,
   * all of them after `waitMs`.
   */
  async quiesce(waitMs: number): Promise<void> {
    this.unlisten();
    const deadline = Date.now() + waitMs;
    while (this.#open.size > 0 && Date.now() < deadline) {
      for (const server of this.#stopped) server.closeIdleConnections();
      await new Promise((resolve) => setTimeout(resolve, 20));
    }
    for (const socket of this.#open) socket.destroy();
    this.#stopped.clear();
  }

  /** Stops accepting connections; those open finish what they are doing. */
  unlisten(): void {
    const server = this.#server;
    if (server !== undefined) {
      this.#stopped.add(server);
      server.close(() => this.#stopped.delete(server));
      server.closeIdleConnections();
    }
    this.#server = undefined;
    // Requests waiting for a busy lent instance still run on it once it is free (the host waits for lent instances).
    this.#drainingSettings = this.#settings;
    this.#settings = undefined;
    for (const lent of [...this.#lent.values()]) if (!isBusy(lent)) this.#giveBack(lent);
  }

  /** Counts a new connection against the host's limits (shared by every executor), or closes it. */
  #admit(socket: Socket): void {
    const counters = this.#connections!;
    const settings = this.#settings;
    if (settings === undefined) return void socket.destroy();
    const bucket = 1 + (hashAddress(socket.remoteAddress ?? "") % CONNECTION_BUCKETS);
    this.#open.add(socket);
    const all = Atomics.add(counters, 0, 1) + 1;
    const mine = Atomics.add(counters, bucket, 1) + 1;
    socket.once("close", () => {
      this.#open.delete(socket);
      Atomics.sub(counters, 0, 1);
      Atomics.sub(counters, bucket, 1);
    });
    if (all > settings.maxConnections || mine > settings.maxConnectionsPerClient) socket.destroy();
  }

  #handle(req: IncomingMessage, res: ServerResponse): void {
    const settings = this.#settings;
    const url = req.url ?? "/";
    const host = req.headers.host;
    const query = url.indexOf("?");
    const path = query < 0 ? url : url.slice(0, query);
    // A percent-encoded path is matched by the main thread, which decodes it; a query string is the guest's to read.
    if (settings === undefined || host === undefined || path.includes("%") || !url.startsWith("/") || url.startsWith("/_wfn/") || url.startsWith("/2015-03-31/")) {
      return this.#forward(req, res, undefined, undefined);
    }
    const match = this.#table.match(req.method ?? "GET", path);
    const target = match === undefined ? undefined : this.#routing.targets[match.name];
    if (match === undefined || target === undefined || (target.requiresKey && !authorizationAllows(req.headers.authorization, settings.keys))) {
      return this.#forward(req, res, undefined, undefined);
    }
    const draw = Math.random();
    const version = target.canary !== undefined && draw < target.canary.weight ? target.canary : target.primary;
    const declared = req.headers["content-length"];
    const hasBody = (declared !== undefined && declared !== "0") || req.headers["transfer-encoding"] !== undefined;
    if (!hasBody) return this.#run(req, res, match.name, target, version, draw, new Uint8Array(0), `http://${host}${url}`, match);
    if (declared !== undefined && Number(declared) > settings.maxRequestBytes) return this.#forward(req, res, draw, undefined);
    readChunks(req.iterator({ destroyOnReturn: false }), settings.maxRequestBytes).then(
      (body) => this.#run(req, res, match.name, target, version, draw, body, `http://${host}${url}`, match),
      (error: unknown) => writeWeb(res, errorResponse(error instanceof WfnError ? error : tooLarge(0, settings.maxRequestBytes), randomUUID())),
    );
  }

  #run(req: IncomingMessage, res: ServerResponse, name: string, target: RoutedTarget, version: RoutedVersion, draw: number, body: Uint8Array, url: string, match: { route: string; params: Record<string, string> }): void {
    const lent = this.#idleOf(version.pool).pop();
    const forward = () => this.#forward(req, res, draw, body, true);
    if (lent === undefined) {
      // Every instance of the pool lent here is running. When this thread is busy, the request waits for one
      // of them (at most one waiter per instance, so each waits about one invocation) rather than cross to
      // the main thread and back; with time to spare, it goes there, where the pool can grow.
      const waiting = this.#waitersOf(version.pool);
      const settings = this.#settings!;
      const queue = this.#queues.get(version.pool);
      // A waiting request is a queued one: it joins the pool's queue (the main thread's and the
      // executors'), for as long as the host would queue it.
      if (queue !== undefined && this.#isBusy() && waiting.length < this.#lentCount(version.pool) && joinQueue(queue, settings.maxQueueLength)) {
        const leave = () => {
          clearTimeout(timer);
          Atomics.sub(queue, 1, 1);
        };
        const waiter: Waiter = {
          run: (freed) => {
            leave();
            if (req.destroyed) this.#release(freed);
            else this.#runOn(freed, req, res, name, target, version, body, url, match);
          },
          forward: () => {
            leave();
            forward();
          },
        };
        const timer = setTimeout(() => {
          const at = waiting.indexOf(waiter);
          if (at < 0) return;
          waiting.splice(at, 1);
          Atomics.sub(queue, 1, 1);
          writeWeb(res, errorResponse(throttled(`no instance of ${name} became free within ${settings.maxQueueWaitMs} ms`), randomUUID()));
        }, settings.maxQueueWaitMs);
        waiting.push(waiter);
        return;
      }
      return forward();
    }
    this.#runOn(lent, req, res, name, target, version, body, url, match);
  }

  #runOn(lent: Lent, req: IncomingMessage, res: ServerResponse, name: string, target: RoutedTarget, version: RoutedVersion, body: Uint8Array, url: string, match: { route: string; params: Record<string, string> }): void {
    const instance = this.#port.instances.get(lent.id);
    if (instance === undefined) return this.#forward(req, res, undefined, body, true);
    Atomics.store(lent.running, 0, 1);
    const settings = (this.#settings ?? this.#drainingSettings)!;
    const headers: Array<[string, string]> = [];
    const raw = req.rawHeaders;
    for (let i = 0; i + 1 < raw.length; i += 2) headers.push([raw[i]!.toLowerCase(), raw[i + 1]!]);
    const record: HttpRequestRecord = {
      method: req.method ?? "GET",
      url,
      headers,
      body,
      route: { key: match.route, params: Object.entries(match.params) },
      remoteAddress: clientAddressOf(req.socket.remoteAddress, nodeHeaders(req), settings.trustProxy).address,
    };
    this.#invoke(lent, instance, name, target, version, record).then(
      (result) => this.#answer(() => writeResult(res, result)),
      (error: unknown) => this.#answer(() => writeWeb(res, errorResponse(new WfnError("WFN_INTERNAL", `the invocation failed in the host: ${(error as Error).message}`), randomUUID()))),
    );
  }

  /** Runs one request on a lent instance, with the scheduler's rules: its deadline, recycling, the invocation's log and metrics. */
  async #invoke(lent: Lent, instance: SandboxInstance, name: string, target: RoutedTarget, version: RoutedVersion, event: HttpRequestRecord): Promise<InvocationResult> {
    const flags = this.#port.flags;
    if (Atomics.add(flags, INTERRUPT_FLAGS.LOCAL_CALLS, 1) === 0) Atomics.notify(flags, INTERRUPT_FLAGS.LOCAL_CALLS);
    const requestId = randomUUID();
    const started = performance.now();
    const context: ContextRecord = {
      requestId,
      functionName: name,
      functionVersion: version.executedVersion,
      invokedFunctionArn: target.arn,
      memoryLimitMb: version.memoryMB,
      deadlineMs: BigInt(Date.now() + version.timeoutMs),
      clientContext: undefined,
    };
    let timer: NodeJS.Timeout | undefined;
    const timedOut = new Promise<ScheduledResult>((resolve) => {
      timer = setTimeout(() => {
        instance.abandon();
        resolve({ status: "timeout", elapsedMs: performance.now() - started, coldStart: false, initMs: undefined });
      }, version.timeoutMs);
    });
    const ran = instance.call({ tag: "http", val: event }, context).then((result): ScheduledResult => {
      // A guest that stopped itself at an interrupt check past its deadline timed out all the same.
      if (result.status === "trap" && result.timedOut === true) return { status: "timeout", elapsedMs: performance.now() - started, coldStart: false, initMs: undefined };
      return { status: "done", result, coldStart: false, initMs: undefined };
    });
    const scheduled = await Promise.race([ran, timedOut]);
    clearTimeout(timer);
    Atomics.sub(flags, INTERRUPT_FLAGS.LOCAL_CALLS, 1);
    const swollen = scheduled.status === "done" && scheduled.result.memoryBytes > version.memoryMB * 1024 * 1024 * RECYCLE_AT_MEMORY_SHARE;
    if (scheduled.status === "timeout" || instance.trapped || swollen) this.#lose(lent);
    else this.#release(lent);
    return this.#record(scheduled, name, version, requestId);
  }

  /** The invocation's log and summary, batched to the main thread; its result. */
  #record(scheduled: ScheduledResult, name: string, version: RoutedVersion, requestId: string): InvocationResult {
    const facts = {
      requestId,
      functionName: name,
      functionVersion: version.executedVersion,
      memoryMB: version.memoryMB,
      maxResponseBytes: (this.#settings ?? this.#drainingSettings)?.maxResponseBytes ?? Infinity,
      version: version.pool.slice(version.pool.lastIndexOf("@") + 1),
      trigger: "http" as const,
    };
    const { classified, summary } = recordInvocation(scheduled, facts, (record) => this.#logs.push(record));
    this.#invocations.push(summary);
    this.#scheduleFlush();
    return classified.result;
  }

  /** Writes a response right after the records sent before it. */
  #answer(write: () => void): void {
    this.#answers.push(write);
    this.#scheduleFlush();
  }

  #scheduleFlush(): void {
    if (this.#flushQueued) return;
    this.#flushQueued = true;
    beforeNextSlice(() => {
      this.#flushQueued = false;
      if (this.#logs.length > 0 || this.#invocations.length > 0) this.#port.reply({ op: "records", logs: this.#logs, invocations: this.#invocations });
      this.#logs = [];
      this.#invocations = [];
      // The answers go out once their logs are on their way: a client that reads the logs after
      // its answer finds them there, as when the main thread answers.
      const answers = this.#answers;
      this.#answers = [];
      for (const answer of answers) answer();
    });
  }

  /** Sends a request to the main thread's server, as it came (its body, when already read), and its answer back. */
  #forward(req: IncomingMessage, res: ServerResponse, draw: number | undefined, body: Uint8Array | undefined, origin = false, retried = false): void {
    const settings = this.#settings;
    if (settings === undefined) return writeWeb(res, errorResponse(new WfnError("WFN_SHUTTING_DOWN"), randomUUID()));
    const headers: OutgoingHttpHeaders = {};
    const raw = req.rawHeaders;
    for (let i = 0; i + 1 < raw.length; i += 2) {
      const name = raw[i]!.toLowerCase();
      if (name === FORWARD_HEADER) continue;
      const existing = headers[name];
      headers[name] = existing === undefined ? raw[i + 1]! : ([] as string[]).concat(existing as string | string[], raw[i + 1]!);
    }
    if (body !== undefined) {
      delete headers["transfer-encoding"];
      headers["content-length"] = String(body.byteLength);
    }
    headers[FORWARD_HEADER] = `${settings.secret} ${req.socket.remoteAddress ?? "-"} ${draw ?? "-"} ${origin ? this.#port.index : "-"}`;
    let answer: IncomingMessage | undefined;
    const upstream = httpRequest({ host: "127.0.0.1", port: settings.mainPort, method: req.method, path: req.url, headers, agent: this.#agent }, (answered) => {
      answer = answered;
      const out: string[] = [];
      const back = answer.rawHeaders;
      for (let i = 0; i + 1 < back.length; i += 2) {
        const name = back[i]!.toLowerCase();
        if (name !== "connection" && name !== "keep-alive" && name !== "transfer-encoding") out.push(back[i]!, back[i + 1]!);
      }
      res.sendDate = false;
      res.writeHead(answered.statusCode ?? 502, out);
      answered.pipe(res);
      // Answered before it had the whole body: the main thread closes that connection soon (after
      // reading and dropping the rest for a moment); it must not carry the next forwarded request.
      if (!upstream.writableFinished) answered.once("end", () => upstream.destroy());
    });
    // The main thread may answer before it has read the whole body (a refused upload): the answer
    // goes out, then what the client still sends is read and dropped for a moment, so that it reads
    // the answer and stops, and the connection is closed (as the main thread's server does).
    if (!retried) {
      res.once("finish", () => {
        if (!req.complete) lingerThenClose(req);
      });
    }
    upstream.on("error", (error: NodeJS.ErrnoException) => {
      if (answer?.complete === true) return;
      // A kept-alive connection the main thread closed just as it was reused: the request never
      // reached it. Sent again once, when it can be (no body, or a body read whole already).
      const replayable = body !== undefined || (req.complete && req.headers["content-length"] === undefined && req.headers["transfer-encoding"] === undefined);
      if (answer === undefined && upstream.reusedSocket && error.code === "ECONNRESET" && replayable && !retried && !res.destroyed) {
        return this.#forward(req, res, draw, body, origin, true);
      }
      if (answer === undefined) writeWeb(res, errorResponse(new WfnError("WFN_INTERNAL", "the host's main thread did not answer"), randomUUID()));
      else res.destroy();
    });
    res.on("close", () => {
      if (!res.writableFinished) upstream.destroy();
    });
    if (body !== undefined) upstream.end(body);
    else this.#pipeBounded(req, upstream, req.url?.startsWith("/_wfn/") === true ? Math.max(settings.maxUploadBytes, settings.maxRequestBytes) : settings.maxRequestBytes);
  }

  /**
   * Streams the client's body to the main thread, and stops reading it one
   * chunk past `limit` (the most the main thread would accept there): the
   * main thread refuses it then, and the client has not sent more into the
   * extra hop than it would have to the main thread directly.
   */
  #pipeBounded(req: IncomingMessage, upstream: ClientRequest, limit: number): void {
    let sent = 0;
    const onData = (chunk: Buffer) => {
      sent += chunk.byteLength;
      const more = upstream.write(chunk);
      if (sent > limit) {
        req.off("data", onData);
        req.off("end", onEnd);
        upstream.off("drain", onDrain);
        req.pause();
      } else if (!more) req.pause();
    };
    const onDrain = () => req.resume();
    const onEnd = () => upstream.end();
    req.on("data", onData);
    req.once("end", onEnd);
    upstream.on("drain", onDrain);
  }

  #release(lent: Lent): void {
    Atomics.store(lent.running, 0, 0);
    lent.lastUsedAt = Date.now();
    if (!this.#lent.has(lent.id)) return;
    // The requests already waiting go first, even on an instance asked back (no new one waits for it).
    const waiter = this.#waiters.get(lent.pool)?.shift();
    if (waiter !== undefined) return waiter.run(lent);
    if (lent.recalled || this.#settings === undefined) return this.#giveBack(lent);
    this.#idleOf(lent.pool).push(lent);
  }

  /** Requests waiting for an instance of `pool` lent here to finish its request. */
  #waitersOf(pool: string): Waiter[] {
    let waiting = this.#waiters.get(pool);
    if (waiting === undefined) this.#waiters.set(pool, (waiting = []));
    return waiting;
  }

  /** Whether this thread's event loop was busy enough to keep requests, measured when asked (no timer: an idle host does nothing). */
  #isBusy(): boolean {
    if (WAIT_AT_UTILIZATION <= 0) return true;
    const now = performance.eventLoopUtilization();
    const since = performance.eventLoopUtilization(now, this.#utilization);
    if (this.#utilization === undefined || since.active + since.idle >= UTILIZATION_EVERY_MS) {
      this.#busy = since.utilization >= WAIT_AT_UTILIZATION;
      this.#utilization = now;
    }
    return this.#busy;
  }

  /** Instances of `pool` lent here and not asked back: how many requests may wait for them. */
  #lentCount(pool: string): number {
    let count = 0;
    for (const lent of this.#lent.values()) if (lent.pool === pool && !lent.recalled) count++;
    return count;
  }

  /** Fewer instances of `pool` are lent here: the waiters beyond one per instance go to the main thread (or, closing, are refused). */
  #overflow(pool: string): void {
    const waiting = this.#waiters.get(pool) ?? [];
    const room = this.#lentCount(pool);
    while (waiting.length > room) waiting.pop()!.forward();
    // No instance of the pool is lent here any more: forget its waiting list and its queue counts.
    for (const lent of this.#lent.values()) if (lent.pool === pool) return;
    this.#waiters.delete(pool);
    this.#queues.delete(pool);
  }

  #lose(lent: Lent): void {
    Atomics.store(lent.running, 0, 0);
    this.#lent.delete(lent.id);
    this.#unidle(lent);
    this.#port.instances.delete(lent.id);
    this.#port.reply({ op: "lost", instance: lent.id });
    this.#overflow(lent.pool);
  }

  #giveBack(lent: Lent): void {
    if (!this.#lent.delete(lent.id)) return;
    this.#unidle(lent);
    this.#port.reply({ op: "returned", instance: lent.id, lastUsedAt: lent.lastUsedAt });
    this.#overflow(lent.pool);
  }

  /** Idle lent instances unused for their pool's idle timeout go back, for the scheduler to reclaim. */
  #returnStale(): void {
    const now = Date.now();
    for (const lent of [...this.#lent.values()]) if (!isBusy(lent) && now - lent.lastUsedAt >= lent.idleTimeoutMs) this.#giveBack(lent);
    if (this.#lent.size === 0) {
      clearInterval(this.#sweep);
      this.#sweep = undefined;
    }
  }

  #idleOf(pool: string): Lent[] {
    let idle = this.#idle.get(pool);
    if (idle === undefined) this.#idle.set(pool, (idle = []));
    return idle;
  }

  #unidle(lent: Lent): void {
    const idle = this.#idle.get(lent.pool);
    const at = idle?.indexOf(lent) ?? -1;
    if (at >= 0) idle!.splice(at, 1);
  }
}

/** Writes an invocation's result: an HTTP response record directly, anything else as the main thread would. */
function writeResult(res: ServerResponse, result: InvocationResult): void {
  if (result.status === "ok" && result.outcome.tag === "http") {
    const { status, headers, body } = result.outcome.val;
    if (Number.isInteger(status) && status >= 200 && status <= 599) {
      try {
        const out: string[] = [];
        for (const [name, value] of headers) {
          if (HOP_BY_HOP.has(name.toLowerCase())) continue;
          validateHeaderName(name);
          validateHeaderValue(name, value);
          out.push(name, value);
        }
        const empty = NULL_BODY_STATUS.has(status) || body.byteLength === 0;
        out.push("x-wfn-request-id", result.requestId);
        if (!empty) out.push("content-length", String(body.byteLength));
        res.writeHead(status, out);
        res.end(empty ? undefined : body);
        return;
      } catch {
        // An invalid header: answered below as the main thread answers it.
      }
    }
  }
  writeWeb(res, invocationResponse(result));
}

/** Writes a web Response. */
function writeWeb(res: ServerResponse, response: Response): void {
  const out: string[] = [];
  response.headers.forEach((value, name) => {
    if (name !== "set-cookie") out.push(name, value);
  });
  for (const cookie of response.headers.getSetCookie()) out.push("set-cookie", cookie);
  void response.arrayBuffer().then((bytes) => {
    if (res.headersSent) return void res.end();
    res.writeHead(response.status, [...out, "content-length", String(bytes.byteLength)]);
    res.end(Buffer.from(bytes));
  });
}

/** A Node request's headers, as client-address.ts reads them. */
function nodeHeaders(req: IncomingMessage): HeaderView {
  return {
    get: (name) => {
      const value = req.headers[name];
      return value === undefined ? null : Array.isArray(value) ? value.join(", ") : value;
    },
    has: (name) => req.headers[name] !== undefined,
    keys: () => Object.keys(req.headers),
  };
}

/** FNV-1a of a client address, for its connection counter. */
function hashAddress(address: string): number {
  let hash = 0x811c9dc5;
  for (let i = 0; i < address.length; i++) hash = Math.imul(hash ^ address.charCodeAt(i), 0x01000193);
  return hash >>> 0;
}

/** Whether a request runs on a lent instance now. */
function isBusy(lent: Lent): boolean {
  return Atomics.load(lent.running, 0) === 1;
}

/** How long a connection to the main thread's server stays open unused (below its 5 s keep-alive timeout). */
const MAIN_IDLE_MS = 4000;

/** How long, and how much, of a body nobody reads any more is dropped before its connection is closed. */
const LINGER_MS = 500;
const LINGER_BYTES = 64 * 1024 * 1024;

/** Reads and drops the rest of `req`'s body for a moment, then closes its connection. */
function lingerThenClose(req: IncomingMessage): void {
  let dropped = 0;
  const close = () => {
    clearTimeout(timer);
    req.off("data", onData);
    req.socket.destroySoon();
  };
  const onData = (chunk: Buffer) => {
    dropped += chunk.byteLength;
    if (dropped > LINGER_BYTES) close();
  };
  const timer = setTimeout(close, LINGER_MS);
  timer.unref();
  req.removeAllListeners("data");
  req.on("data", onData);
  req.once("end", () => clearTimeout(timer));
  req.resume();
}
