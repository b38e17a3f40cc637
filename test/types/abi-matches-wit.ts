// The host's and the SDK's view of the world (sdk/src/abi.ts, written by
// hand because its option fields are `T | undefined`, always present) checked
// against the types jco generates from sdk/wit/ (sdk/src/guest/wit/): every
// record has the same fields, and every value of ours is a value of the WIT's.
// Checked by `tsc -p test` (part of `npm test`); there is nothing to run.
/// <reference path="../../sdk/src/guest/wit/function.d.ts" />
import type * as Abi from "@wfn/sdk/abi";
import type * as Wit from "wfn:function/types@0.1.0";

type Same<A, B> = [A] extends [B] ? ([B] extends [A] ? true : false) : false;
type SameFields<A, B> = Same<keyof A, keyof B>;
/** Ours is a value of the WIT's. */
type Fits<A, B> = [A] extends [B] ? true : false;

export const fields: Array<true> = [
  true satisfies SameFields<Abi.HttpRouteRecord, Wit.HttpRoute>,
  true satisfies SameFields<Abi.HttpRequestRecord, Wit.HttpRequest>,
  true satisfies SameFields<Abi.HttpResponseRecord, Wit.HttpResponse>,
  true satisfies SameFields<Abi.InvokeRequestRecord, Wit.InvokeRequest>,
  true satisfies SameFields<Abi.ScheduleEventRecord, Wit.ScheduleEvent>,
  true satisfies SameFields<Abi.QueueMessageRecord, Wit.QueueMessage>,
  true satisfies SameFields<Abi.QueueBatchRecord, Wit.QueueBatch>,
  true satisfies SameFields<Abi.StorageRecordValue, Wit.StorageRecord>,
  true satisfies SameFields<Abi.ContextRecord, Wit.Context>,
  true satisfies SameFields<Abi.FunctionErrorRecord, Wit.FunctionError>,
  true satisfies Same<Abi.EventValue["tag"], Wit.Event["tag"]>,
  true satisfies Same<Abi.OutcomeValue["tag"], Wit.Outcome["tag"]>,
];

export const values: Array<true> = [
  true satisfies Fits<Abi.EventValue, Wit.Event>,
  true satisfies Fits<Abi.ContextRecord, Wit.Context>,
  true satisfies Fits<Abi.OutcomeValue, Wit.Outcome>,
  true satisfies Fits<Abi.FunctionErrorRecord, Wit.FunctionError>,
  true satisfies Fits<Abi.LogLevel, import("wfn:function/host@0.1.0").LogLevel>,
];
