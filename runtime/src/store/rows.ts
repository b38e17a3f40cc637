// Rows of the store's tables as records: the same columns in SQLite and
// PostgreSQL (numbers may arrive as strings from PostgreSQL's BIGINT).
import type { Manifest } from "../artifact/manifest.js";
import type { QueueConfig } from "../config/function-config.js";
import type { AliasRecord, AsyncFailure, AsyncInvocation, FunctionRecord, ReceivedMessage, RegistrySnapshot, VersionRecord } from "./store.js";

/** A row as a driver returns it. */
export type Row = Record<string, unknown>;

export function toFunction(row: Row): FunctionRecord {
  return {
    name: row.name as string,
    latest: Number(row.latest),
    lastVersion: Number(row.last_version),
    traffic: row.traffic as string,
    createdAt: Number(row.created_at),
    updatedAt: Number(row.updated_at),
  };
}

export function toVersion(row: Row): VersionRecord {
  return {
    function: row.function as string,
    version: Number(row.version),
    manifest: JSON.parse(row.manifest as string) as Manifest,
    description: (row.description as string | null) ?? undefined,
    createdAt: Number(row.created_at),
  };
}

export function toAlias(row: Row): AliasRecord {
  return {
    function: row.function as string,
    name: row.name as string,
    version: Number(row.version),
    routing: row.routing_version === null ? undefined : { version: Number(row.routing_version), weight: Number(row.routing_weight) },
    description: (row.description as string | null) ?? undefined,
    updatedAt: Number(row.updated_at),
  };
}

/** The registry from its tables' rows, ordered as the queries ordered them, and the `queues` setting's row. */
export function toRegistry(functions: Row[], versions: Row[], aliases: Row[], queues: Row | undefined): RegistrySnapshot {
  return {
    functions: functions.map(toFunction),
    versions: versions.map(toVersion),
    aliases: aliases.map(toAlias),
    queues: queues === undefined ? undefined : (JSON.parse(queues.value as string) as Record<string, QueueConfig>),
  };
}

export function toMessage(row: Row): ReceivedMessage {
  return {
    id: row.id as string,
    queue: row.queue as string,
    body: row.body as string,
    attributes: JSON.parse(row.attributes as string) as Record<string, string>,
    sentAt: Number(row.sent_at),
    receiveCount: Number(row.receive_count),
    firstReceivedAt: row.first_received_at === null ? undefined : Number(row.first_received_at),
    visibleAt: Number(row.visible_at),
    deadLetteredFrom: (row.dead_lettered_from as string | null) ?? undefined,
    receiptHandle: (row.receipt as string | null) ?? "",
  };
}

export function toAsync(row: Row): AsyncInvocation {
  return {
    id: row.id as string,
    function: row.function as string,
    qualifier: (row.qualifier as string | null) ?? undefined,
    event: row.event as string,
    attempts: Number(row.attempts),
    createdAt: Number(row.created_at),
    nextAttemptAt: Number(row.next_attempt_at),
    lastError: (row.last_error as string | null) ?? undefined,
  };
}

export function toFailure(row: Row): AsyncFailure {
  return { id: row.id as string, function: row.function as string, failedAt: Number(row.failed_at), record: JSON.parse(row.record as string) as unknown };
}

/** The columns of an `async_invocations` row, in the order `id, function, qualifier, event, attempts, created_at, next_attempt_at, last_error`. */
export function asyncRow(invocation: AsyncInvocation): [string, string, string | null, string, number, number, number, string | null] {
  return [invocation.id, invocation.function, invocation.qualifier ?? null, invocation.event, invocation.attempts, invocation.createdAt, invocation.nextAttemptAt, invocation.lastError ?? null];
}
