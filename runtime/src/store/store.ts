// What a host keeps that must survive it: deployed functions (versions,
// aliases, their components), queued messages, pending asynchronous
// invocations, failed ones, and which schedule firings ran.
// The interface is narrow and asynchronous so that a shared server (such as
// PostgreSQL) can implement it for many hosts; ./sqlite.ts is the embedded one.

import type { KvStore } from "./kv.js";
import type { Manifest } from "../artifact/manifest.js";
import type { QueueConfig } from "../config/function-config.js";

/** A deployed function: which version `$LATEST` is, and what serves its routes and triggers. */
export interface FunctionRecord {
  name: string;
  /** The version `$LATEST` designates. */
  latest: number;
  /** The highest version number ever given (numbers are never reused). */
  lastVersion: number;
  /** The qualifier (`$LATEST` or an alias) that serves the function's HTTP routes, schedule, queue and storage notifications. */
  traffic: string;
  createdAt: number;
  updatedAt: number;
}

/** An immutable version of a function: its component (by hash) and configuration. */
export interface VersionRecord {
  function: string;
  version: number;
  /** The manifest, configuration included; the component is stored by `manifest.component.sha256`. */
  manifest: Manifest;
  description: string | undefined;
  createdAt: number;
}

/** A name for a version, optionally sending a share of invocations to a second one (a canary). */
export interface AliasRecord {
  function: string;
  name: string;
  version: number;
  /** The canary: this version gets `weight` (0 < weight < 1) of the invocations. */
  routing: { version: number; weight: number } | undefined;
  description: string | undefined;
  updatedAt: number;
}

/** Everything deployed, as loaded at start. */
export interface RegistrySnapshot {
  functions: FunctionRecord[];
  versions: VersionRecord[];
  aliases: AliasRecord[];
  /** Queues deployed with apps (undefined: none ever were). */
  queues: Record<string, QueueConfig> | undefined;
}

/** One atomic change to what is deployed. */
export interface RegistryChange {
  /** Inserted or replaced. */
  functions?: FunctionRecord[];
  /** Inserted (versions are immutable). */
  versions?: VersionRecord[];
  /** Inserted or replaced. */
  aliases?: AliasRecord[];
  deleteAliases?: Array<{ function: string; name: string }>;
  deleteVersions?: Array<{ function: string; version: number }>;
  /** Deletes the functions with their versions and aliases. */
  deleteFunctions?: string[];
  queues?: Record<string, QueueConfig>;
}

/** A message as stored. */
export interface StoredMessage {
  id: string;
  queue: string;
  body: string;
  attributes: Record<string, string>;
  /** Unix epoch ms. */
  sentAt: number;
  receiveCount: number;
  firstReceivedAt: number | undefined;
  /** When it becomes receivable again (in flight until then), epoch ms. */
  visibleAt: number;
  /** The queue it was dead-lettered from, for redrive. */
  deadLetteredFrom: string | undefined;
}

/** A message handed to a consumer: valid until its visibility timeout. */
export interface ReceivedMessage extends StoredMessage {
  receiptHandle: string;
}

export interface NewMessage {
  body: string;
  attributes?: Record<string, string>;
  delaySeconds?: number;
}

export interface QueueCounts {
  /** Receivable now. */
  visible: number;
  /** Received and not yet deleted, or delayed. */
  inFlight: number;
}

/** An accepted asynchronous invocation. */
export interface AsyncInvocation {
  /** Its request id. */
  id: string;
  function: string;
  qualifier: string | undefined;
  /** The event, serialised (see ../triggers/async-events.ts). */
  event: string;
  attempts: number;
  createdAt: number;
  nextAttemptAt: number;
  lastError: string | undefined;
}

/** An asynchronous invocation that failed for good: a Lambda destination record. */
export interface AsyncFailure {
  id: string;
  function: string;
  failedAt: number;
  /** The destination record (`version`, `timestamp`, `requestContext`, `requestPayload`, ...). */
  record: unknown;
}

export interface Store {
  /** Key-value namespaces (the kv capability). */
  readonly kv: KvStore;
  /** Everything deployed. */
  loadRegistry(): Promise<RegistrySnapshot>;
  /** Applies a change to what is deployed, all of it or none. */
  saveRegistry(change: RegistryChange): Promise<void>;
  /**
   * Runs `body` while no other host changes what is deployed: a lock across
   * every host of a shared store, so that a change is planned on what the
   * fleet has; the embedded store serves one host and just runs it.
   */
  withRegistryLock<T>(body: () => Promise<T>): Promise<T>;
  /**
   * Calls `changed` soon after another host changed what is deployed, and
   * whenever that may have been missed (a lost connection, the periodic
   * re-read); returns what stops it. Absent on a store only one host uses.
   */
  followRegistry?(changed: () => void): () => void;
  /** Keeps a component's bytes under their SHA-256 (idempotent). */
  putComponent(sha256: string, bytes: Uint8Array): Promise<void>;
  getComponent(sha256: string): Promise<Uint8Array | undefined>;
  /** Forgets components no version refers to; returns how many. */
  pruneComponents(): Promise<number>;

  /** Adds messages to a queue; returns their ids. */
  sendMessages(queue: string, messages: NewMessage[], now: number): Promise<string[]>;
  /**
   * Claims up to `max` receivable messages: each gets a new receipt handle,
   * one more receive, and stays invisible for `visibilityMs`. Messages already
   * received `deadLetterAfter` times are moved to `deadLetterQueue` instead.
   */
  receiveMessages(
    queue: string,
    options: { max: number; visibilityMs: number; now: number; deadLetterAfter: number; deadLetterQueue: string | undefined },
  ): Promise<{ messages: ReceivedMessage[]; deadLettered: number }>;
  /** Deletes messages by receipt handle (a stale handle deletes nothing); returns how many went. */
  deleteMessages(queue: string, receiptHandles: string[]): Promise<number>;
  /** Makes in-flight messages receivable again at `visibleAt`. */
  releaseMessages(queue: string, receiptHandles: string[], visibleAt: number): Promise<void>;
  /** Messages of a queue, oldest first (for listing dead letters). */
  listMessages(queue: string, limit: number): Promise<StoredMessage[]>;
  /** Moves a dead-letter queue's messages back to where they came from; returns how many. */
  redrive(deadLetterQueue: string, now: number): Promise<number>;
  /** Deletes messages sent before `before` (retention); returns how many. */
  expireMessages(queue: string, before: number): Promise<number>;
  countMessages(queue: string, now: number): Promise<QueueCounts>;

  /** Records an asynchronous invocation (before it is acknowledged). */
  putAsync(invocation: AsyncInvocation): Promise<void>;
  /**
   * Claims due invocations for `leaseMs`: their attempt count goes up, and
   * nobody else gets them until the lease ends (so a crashed host's work is
   * picked up again).
   */
  claimAsync(now: number, leaseMs: number, limit: number): Promise<AsyncInvocation[]>;
  /** Schedules another attempt (and ends the claim). */
  retryAsync(id: string, nextAttemptAt: number, lastError: string): Promise<void>;
  /** Keeps a claimed invocation reserved until at least `until` (a long-running attempt). */
  extendAsync(id: string, until: number): Promise<void>;
  /**
   * Ends the claims of a host that is gone, making those invocations due now;
   * returns how many. The embedded store serves one host at a time, so at
   * start every claim left in it belongs to a host that crashed.
   */
  recoverAsync(now: number): Promise<number>;
  /**
   * Ends the claims of hosts that are gone while this one runs (a shared
   * store; the others' claims are left alone), making those invocations due
   * now; returns how many. Absent on a store only one host uses.
   */
  recoverOrphanedAsync?(now: number): Promise<number>;
  /** Forgets an invocation that is done (succeeded or recorded as failed). */
  deleteAsync(id: string): Promise<void>;
  countAsync(): Promise<number>;
  /** Records a failed asynchronous invocation (the dead-letter store). */
  putAsyncFailure(failure: AsyncFailure): Promise<void>;
  listAsyncFailures(functionName: string | undefined, limit: number): Promise<AsyncFailure[]>;

  /**
   * Marks a schedule's firing as taken, to be run by the asynchronous
   * invocation `requestId`; false if it already was (it never runs twice).
   */
  claimFiring(schedule: string, dueAt: number, now: number, requestId?: string): Promise<boolean>;
  /** Whether the invocation of a taken firing of `schedule` is still pending or running, on any host (it is in the store until done). */
  firingRunning(schedule: string): Promise<boolean>;
  /** The latest firing taken for a schedule. */
  lastFiring(schedule: string): Promise<number | undefined>;

  close(): Promise<void>;
}
