import type { Readable } from 'node:stream';
import { multipartBody } from '../api/files/server.test-helper.js';
import { buildZip } from '../api/files/zip-writer.test-helper.js';
import type { FalOperation } from './fal-document.test-helper.js';
import type { SeedData } from './seed.test-helper.js';
import type { KeyName } from './server.test-helper.js';

// Valid inputs for every `/serverless` operation of fal's document, built from the seeded data: each
// case is a request the operation must answer with its documented success status and schema.

/** A request body: JSON, or one multipart file part. */
export type CallBody =
  | { json: unknown }
  | { multipart: { field: string; filename: string; content: Buffer } };

/** One call of an operation, before it is turned into a URL. */
export interface OperationInput {
  path?: Record<string, string>;
  query?: Record<string, string | string[] | undefined>;
  headers?: Record<string, string>;
  body?: CallBody;
  key?: KeyName;
  /** The status expected; the operation's first listed 2xx when absent. */
  status?: number;
  /** Checks the decoded body holds the seeded data; returns a problem or null. */
  holds?: (body: unknown) => string | null;
}

const hoursAgo = (h: number) => new Date(Date.now() - h * 3600_000).toISOString();
const nonEmpty = (field: string) => (body: unknown) => {
  const value = (body as Record<string, unknown>)[field];
  return Array.isArray(value) && value.length > 0 ? null : `${field} is empty`;
};
const hasEntry = (name: string) => (body: unknown) =>
  (body as { name: string }[]).some((e) => e.name === name) ? null : `no entry ${name}`;

/** Valid inputs per operationId; an operation missing here fails the walk. */
export const VALID_INPUTS: Record<string, (d: SeedData) => OperationInput[]> = {
  serverlessGetAnalytics: (d) => [
    { query: { endpoint_id: 'demo/echo' }, holds: nonEmpty('time_series') },
    {
      query: {
        endpoint_id: ['demo/echo', 'demo/png'],
        expand: 'time_series,summary,request_count,success_count,error_count,p50_duration,p99_duration',
        timezone: 'Asia/Kolkata',
        timeframe: 'hour',
        start: hoursAgo(6),
      },
      holds: nonEmpty('summary'),
    },
    {
      query: {
        endpoint_id: 'demo/echo',
        cursor: d.cursors['serverlessGetAnalytics']!,
        timeframe: 'minute',
        start: hoursAgo(3),
        limit: '1',
      },
    },
  ],
  serverlessListApps: () => [{ holds: nonEmpty('apps') }, { query: { expand: 'endpoints', search: 'ech' } }],
  serverlessGetAppQueueInfo: () => [{ path: { owner: 'demo', name: 'echo' } }],
  serverlessFlushAppQueue: () => [
    {
      path: { owner: 'demo', name: 'png' },
      headers: { 'Idempotency-Key': '550e8400-e29b-41d4-a716-446655440000' },
    },
  ],
  serverlessGetRunnerHistory: () => [
    { path: { owner: 'demo', name: 'echo' }, holds: nonEmpty('history') },
    {
      path: { owner: 'demo', name: 'echo' },
      query: { aggregation: 'avg', timeframe: 'minute', start: hoursAgo(1) },
    },
  ],
  serverlessListAppEvents: (d) => [
    { path: { owner: 'demo', name: 'echo' }, holds: nonEmpty('events') },
    {
      path: { owner: 'demo', name: 'echo' },
      query: {
        category: ['deployment_started', 'runner_started'],
        limit: '5',
        cursor: d.cursors['serverlessListAppEvents']!,
      },
    },
  ],
  serverlessListAppRevisions: () => [
    { path: { owner: 'demo', name: 'echo' }, query: { limit: '10' }, holds: nonEmpty('revisions') },
  ],
  serverlessListRoot: () => [{ holds: hasEntry('datasets') }],
  serverlessListDirectory: (d) => [
    { path: { dir: 'datasets' }, holds: hasEntry('hello.txt') },
    { path: { dir: 'datasets/images' }, holds: hasEntry('cat.txt') },
    { path: { dir: d.dirs[2]! }, holds: (b) => ((b as unknown[]).length > 0 ? null : 'no png output') },
  ],
  serverlessDownloadFile: (d) => [{ path: { file: d.files[0]! } }, { path: { file: d.files[3]! } }],
  serverlessUploadFromUrl: (d) => [
    { path: { file: 'datasets/e2e-from-url.txt' }, body: { json: { url: `${d.sourceUrl}/cat.txt` } } },
  ],
  serverlessUploadLocalFile: () => [
    {
      path: { target_path: 'datasets/e2e.txt' },
      body: { multipart: upload('e2e.txt', Buffer.from('e2e\n')) },
    },
    {
      path: { target_path: 'unzipped' },
      query: { unzip: 'true' },
      body: { multipart: upload('a.zip', buildZip([{ name: 'a/b.txt', data: 'zipped' }])) },
    },
  ],
  serverlessGetMetrics: () => [{}],
  serverlessLogsHistory: (d) => [
    { body: { json: [] }, holds: nonEmpty('items') },
    {
      query: {
        app_id: 'demo/echo',
        request_id: d.requestIds[0]!,
        level: 'info',
        search: 'log line',
        limit: '2',
      },
      body: { json: [{ key: 'fal_request_id', value: d.requestIds[0]!, condition_type: 'equals' }] },
      holds: nonEmpty('items'),
    },
    {
      query: { cursor: d.cursors['serverlessLogsHistory']!, run_source: 'grpc-register', traceback: 'false' },
    },
  ],
  serverlessLogsStream: () => [{ query: { start: hoursAgo(1), end: hoursAgo(0) }, body: { json: [] } }],
  serverlessListRequestsByEndpoint: (d) => [
    { query: { endpoint_id: 'demo/echo' }, holds: nonEmpty('items') },
    {
      query: {
        endpoint_id: ['demo/echo', 'demo/png'],
        expand: ['payloads', 'billing'],
        sort_by: 'duration',
        limit: '3',
      },
      holds: nonEmpty('items'),
    },
    { query: { endpoint_id: 'demo/echo', status: 'error' }, holds: nonEmpty('items') },
    { query: { endpoint_id: 'demo/echo', request_id: d.requestIds[0]! }, holds: nonEmpty('items') },
    {
      query: { endpoint_id: 'demo/echo', cursor: d.cursors['serverlessListRequestsByEndpoint']!, limit: '1' },
    },
  ],
  serverlessGetUsage: (d) => [
    { key: 'admin', holds: nonEmpty('time_series') },
    {
      key: 'admin',
      query: { expand: 'time_series,summary', timezone: 'America/New_York', app: 'echo' },
      holds: nonEmpty('summary'),
    },
    {
      key: 'admin',
      query: {
        cursor: d.cursors['serverlessGetUsage']!,
        timeframe: 'minute',
        start: hoursAgo(3),
        limit: '1',
      },
    },
    { key: 'api', status: 403 },
  ],
};

function upload(filename: string, content: Buffer) {
  return { field: 'file_upload', filename, content };
}

/** The request path of an operation (`/v1` + its path) with path parameters and query filled in. */
export function operationUrl(op: FalOperation, input: Pick<OperationInput, 'path' | 'query'>): string {
  const path = op.path.replace(/\{([^}]+)\}/g, (_, name: string) => {
    const value = input.path?.[name];
    if (value === undefined) throw new Error(`${op.operationId}: no value for path parameter ${name}`);
    return value.split('/').map(encodeURIComponent).join('/');
  });
  const search = new URLSearchParams();
  for (const [name, value] of Object.entries(input.query ?? {})) {
    if (value === undefined) continue;
    for (const v of Array.isArray(value) ? value : [value]) search.append(name, v);
  }
  const qs = search.toString();
  return `/v1${path}${qs ? `?${qs}` : ''}`;
}

/** The operation's required query parameters that the input does not send. */
export function missingRequired(op: FalOperation, input: OperationInput): string[] {
  return op.parameters
    .filter((p) => p.required && p.in === 'query' && input.query?.[p.name] === undefined)
    .map((p) => p.name);
}

/** Headers and bytes of a body (multipart bodies are streams, so this is called once per send). */
export function encodeBody(body: CallBody | undefined): {
  headers: Record<string, string>;
  body?: string | Readable;
} {
  if (body === undefined) return { headers: {} };
  if ('json' in body)
    return { headers: { 'content-type': 'application/json' }, body: JSON.stringify(body.json) };
  const m = body.multipart;
  return multipartBody(m.field, m.filename, m.content);
}
