// @wfn/runtime: the wfn host, embeddable in any Node server.
export { createHost } from "./host.js";
export { DEFAULT_MAX_REQUEST_BYTES } from "./host-types.js";
export { serve } from "./serve.js";
export type { RunningServer, ServeOptions } from "./serve.js";
export { RouteTable } from "./triggers/routes.js";
export { parseFunctionName, resultBody as invocationPayload } from "./api/lambda.js";
export type { RouteMatch, RoutedFunction } from "./triggers/routes.js";
export type { FunctionStatus, Host, HostOptions, HostQueues, InvokeOptions } from "./host-types.js";
export type { AliasStatus, ConfigurationPatch, DeploymentResult, DeployOptions, InstanceCounts, VersionStatus } from "./host-types.js";
export { LogStore } from "./observe/log-store.js";
export type { LogQuery, LogStoreOptions, LogSubscription, StoredLogRecord } from "./observe/log-store.js";
export { Metrics } from "./observe/metrics.js";
export type { MetricsSources } from "./observe/metrics.js";
export type { InvocationSummary, PoolSnapshot, QueueSnapshot, TriggerKind } from "./observe/telemetry.js";
export type { InvocationResult } from "./invocation.js";
export { lambdaErrorPayload } from "./invocation.js";
export { WfnError, isWfnError, errorKind } from "./errors.js";
export type { ErrorCode } from "./errors.js";
export { APP_FILE, checkArtifact, readAppConfig, readArtifact, readArtifacts, sha256Hex } from "./artifact/load.js";
export type { AppConfig, Artifact, ArtifactFailure } from "./artifact/load.js";
export { COMPONENT_FILE, MANIFEST_FILE, MANIFEST_VERSION, ASYNC_WORLD, PROXY_WORLD, WORLD, validateManifest } from "./artifact/manifest.js";
export type { Manifest } from "./artifact/manifest.js";
export {
  FUNCTION_DEFAULTS,
  FUNCTION_NAME_PATTERN,
  LIMITS,
  RESERVED_PREFIXES,
  QUEUE_DEFAULTS,
  checkAppConfig,
  checkFunctionConfig,
  parseRoute,
  resolveFunctionConfig,
  resolveQueueConfig,
} from "./config/function-config.js";
export type {
  AsyncConfig,
  ConfigProblem,
  FunctionConfig,
  FunctionConfigInput,
  QueueConfig,
  QueueConfigInput,
  QueueTriggerConfig,
  Route,
  ScheduleConfig,
  StorageTriggerConfig,
} from "./config/function-config.js";
export { parseSchedule } from "./triggers/schedule-expression.js";
export { storageRecords } from "./triggers/storage.js";
export type { Schedule } from "./triggers/schedule-expression.js";
export type { QueueStats } from "./triggers/queues.js";
export type { ScheduleStatus } from "./triggers/schedules.js";
export type { AsyncFailure, StoredMessage } from "./store/store.js";
export { redactStoreUrl } from "./store/open.js";
export { PROJECT_SCHEMA_URL, validateProjectDocument } from "./config/schema.js";
export { ACCOUNT_ID, DEFAULT_REGION, lambdaEnvironment } from "./config/lambda-env.js";
export type { SchemaProblem } from "./config/schema.js";
export { flushLogs, jsonSink, silentSink, teeSink, textSink } from "./observe/log.js";
export type { LogLevel, LogRecord, LogSink } from "./observe/log.js";
export { defaultCacheDir } from "./util/cache-dir.js";
export { isOutboundAllowed, parseOutboundRule, parseOutboundRules } from "./outbound/policy.js";
export type { OutboundRule } from "./outbound/policy.js";
export { packageVersion } from "./util/package-version.js";
export { SOURCE_MAP_SECTION, StackMapper, componentSourceMap } from "./util/source-map.js";
export { closestName, didYouMean } from "./util/did-you-mean.js";
export { ROUTED_FROM_HEADER } from "./outbound/protocol.js";
