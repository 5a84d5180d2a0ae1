export { createHangarClient, type HangarClient, type KeyInfo } from './client.js';
export { errorFromResponse, HangarApiError } from './errors.js';
export { type ClientOptions, HttpTransport, type Query, type RequestOptions } from './http.js';
export { encodePath, paginate } from './paging.js';
export {
  type ReconnectingSseOptions,
  type ReconnectOptions,
  reconnectingSse,
  streamError,
} from './reconnecting-sse.js';
export type {
  LiveRunnerInfo,
  RolloutState,
  RunnerStateName,
  ScalingInput,
  ScalingResult,
  SetRevisionResult,
} from './resources/app-ops.js';
export type {
  AppEventsQuery,
  AppRevisionsQuery,
  AppsApi,
  BundleInfo,
  BundleUploadOptions,
  DeployInput,
  DeployResult,
  ListAppsQuery,
  RunnerHistoryQuery,
} from './resources/apps.js';
export type {
  Download,
  DownloadOptions,
  FileListPage,
  FilesApi,
  ListPageQuery,
  ProgressFn,
  TransferProgress,
  UploadOptions,
} from './resources/files.js';
export type {
  LogStreamOptions,
  LogsApi,
  LogsHistoryQuery,
  LogsQuery,
  StreamedLogEntry,
} from './resources/logs.js';
export type { NodeInfo, NodeRunnerInfo, NodesView } from './resources/nodes.js';
export {
  appIdOf,
  type CallOptions,
  type CancelResult,
  type QueueApi,
  type RunResult,
  type SubmitOptions,
} from './resources/queue.js';
export type { AnalyticsQuery, RequestsQuery, UsageQuery, WindowQuery } from './resources/reports.js';
export { readSse, type SseEvent, SseParser } from './sse.js';
export * from './types.js';
