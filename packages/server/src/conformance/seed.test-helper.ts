import { readFile } from 'node:fs/promises';
import { packBundle } from '@hangar/core/bundle';
import { multipartBody } from '../api/files/server.test-helper.js';
import { type ConformanceServer, ECHO_APP_DIR, type KeyName, waitFor } from './server.test-helper.js';

// Real data made through the real gateway and Platform API before any conformance check: sync and queued
// calls of the demo echo app with log lines, failing calls, a PNG render, file uploads, and a second
// tenant (`bob`) with its own deployment of echo and a call of it.

/** What the seeded server holds, for building valid (and other tenants') inputs. */
export interface SeedData {
  owner: string;
  apps: string[];
  endpointIds: string[];
  /** Completed request ids of the demo owner; the first is the sync echo call. */
  requestIds: string[];
  failedRequestId: string;
  bobRequestId: string;
  revisionIds: string[];
  bobRevisionId: string;
  files: string[];
  dirs: string[];
  /** A small file served on 127.0.0.1 (allow-listed) for uploads from URL: `<sourceUrl>/cat.txt`. */
  sourceUrl: string;
  /** A real `next_cursor` per operation that pages. */
  cursors: Record<string, string>;
}

type Call = ConformanceServer['call'];

async function json(call: Call, method: string, path: string, body: unknown, key: KeyName = 'api') {
  const res =
    body === undefined
      ? await call(method, path, { key })
      : await call(method, path, {
          key,
          headers: { 'content-type': 'application/json' },
          body: JSON.stringify(body),
        });
  return { status: res.statusCode, headers: res.headers, body: res.body ? JSON.parse(res.body) : null };
}

async function runSync(call: Call, endpoint: string, input: unknown, key: KeyName = 'api') {
  const res = await json(call, 'POST', `/run/${endpoint}`, input, key);
  const id = res.headers['x-fal-request-id'];
  if (typeof id !== 'string') throw new Error(`/run/${endpoint} answered ${res.status} without a request id`);
  return { status: res.status, id };
}

async function runQueued(call: Call, input: unknown): Promise<string> {
  const res = await json(call, 'POST', '/queue/demo/echo', input);
  const id = (res.body as { request_id: string }).request_id;
  await waitFor(`queued request ${id}`, async () => {
    const s = await json(call, 'GET', `/queue/demo/echo/requests/${id}/status`, undefined);
    return (s.body as { status?: string }).status === 'COMPLETED' ? true : undefined;
  });
  return id;
}

async function upload(call: Call, path: string, content: string) {
  const part = multipartBody('file_upload', path.split('/').pop() ?? 'f', Buffer.from(content));
  const res = await call('POST', `/v1/serverless/files/file/local/${path}`, part);
  if (res.statusCode !== 200) throw new Error(`upload of ${path} answered ${res.statusCode}: ${res.body}`);
}

/** Packs an app directory as `hangar deploy` does and uploads it; returns the bundle digest. */
async function uploadBundle(call: Call, dir: string, key: KeyName): Promise<string> {
  const packed = await packBundle(dir);
  try {
    const res = await call('POST', '/v1/serverless/bundles', {
      key,
      headers: { 'content-type': 'application/gzip' },
      body: await readFile(packed.file),
    });
    if (res.statusCode >= 300) throw new Error(`bundle upload answered ${res.statusCode}: ${res.body}`);
    return (JSON.parse(res.body) as { bundle: string }).bundle;
  } finally {
    await packed.remove();
  }
}

async function nextCursor(call: Call, path: string, init?: object, key: KeyName = 'api'): Promise<string> {
  const res = init
    ? await json(call, 'POST', path, init, key)
    : await json(call, 'GET', path, undefined, key);
  const cursor = (res.body as { next_cursor?: string | null }).next_cursor;
  if (!cursor) throw new Error(`${path} gave no next_cursor (${res.status})`);
  return cursor;
}

/** Makes the data, waits until every read model shows it, and collects real cursors. */
export async function seedRealData(s: ConformanceServer): Promise<SeedData> {
  const call = s.call;
  const bundle = await uploadBundle(call, ECHO_APP_DIR, 'bobAdmin');
  const bobDeploy = await json(call, 'POST', '/v1/serverless/apps', { bundle }, 'bobAdmin');
  if (bobDeploy.status !== 201) throw new Error(`bob's deploy answered ${bobDeploy.status}`);
  const sync = await runSync(call, 'demo/echo', { logs: 3, billable_units: '2' });
  const queued = [await runQueued(call, { logs: 2 }), await runQueued(call, { logs: 1, sleep_ms: 50 })];
  const failed = await runSync(call, 'demo/echo', { fail: '500', logs: 1 });
  const userError = await runSync(call, 'demo/echo', { status: 422 });
  const slow = await runSync(call, 'demo/echo/slow', { sleep_ms: 450 });
  const png = await runSync(call, 'demo/png', { prompt: 'a red fox', width: 64, height: 64, steps: 2 });
  const bob = await runSync(call, 'bob/echo', { logs: 1 }, 'bobApi');
  if (sync.status !== 200 || failed.status !== 500 || png.status !== 200 || bob.status !== 200) {
    throw new Error(`seed calls answered ${[sync, failed, png, bob].map((r) => r.status)}`);
  }
  await upload(s.call, 'datasets/hello.txt', 'hello\n');
  await upload(s.call, 'datasets/images/cat.txt', 'meow\n');
  const byUrl = await json(call, 'POST', '/v1/serverless/files/file/url/datasets/from-url.txt', {
    url: `${s.sourceUrl}/cat.txt`,
  });
  if (byUrl.status !== 200) throw new Error(`upload from URL answered ${byUrl.status}`);

  const requestIds = [sync.id, ...queued, failed.id, userError.id, slow.id, png.id];
  await waitFor('requests and logs to be recorded', async () => {
    const listed = await json(
      call,
      'GET',
      '/v1/serverless/requests/by-endpoint?endpoint_id=demo/echo&limit=100',
      undefined,
    );
    const logs = await json(call, 'POST', `/v1/serverless/logs/history?request_id=${sync.id}`, []);
    const items = (listed.body as { items?: unknown[] }).items ?? [];
    const lines = (logs.body as { items?: unknown[] }).items ?? [];
    return items.length >= 6 && lines.length >= 3 ? true : undefined;
  });
  const revisions = await json(call, 'GET', '/v1/serverless/apps/demo/echo/revisions', undefined);
  const bobRevisions = await json(call, 'GET', '/v1/serverless/apps/bob/echo/revisions', undefined, 'bobApi');
  const revisionIds = (revisions.body as { revisions: { revision_id: string }[] }).revisions.map(
    (r) => r.revision_id,
  );
  const start = new Date(Date.now() - 3 * 3600_000).toISOString();
  const cursors = {
    serverlessListRequestsByEndpoint: await nextCursor(
      call,
      '/v1/serverless/requests/by-endpoint?endpoint_id=demo/echo&limit=1',
    ),
    serverlessLogsHistory: await nextCursor(call, '/v1/serverless/logs/history?limit=1', []),
    serverlessListAppEvents: await nextCursor(call, '/v1/serverless/apps/demo/echo/events?limit=1'),
    serverlessGetAnalytics: await nextCursor(
      call,
      `/v1/serverless/analytics?endpoint_id=demo/echo&timeframe=minute&limit=1&start=${start}`,
    ),
    serverlessGetUsage: await nextCursor(
      call,
      `/v1/serverless/usage?timeframe=minute&limit=1&start=${start}`,
      undefined,
      'admin',
    ),
  };
  return {
    owner: 'demo',
    apps: ['echo', 'png'],
    endpointIds: ['demo/echo', 'demo/echo/slow', 'demo/png'],
    requestIds,
    failedRequestId: failed.id,
    bobRequestId: bob.id,
    revisionIds,
    bobRevisionId: (bobRevisions.body as { revisions: { revision_id: string }[] }).revisions[0]!.revision_id,
    files: [
      'datasets/hello.txt',
      'datasets/images/cat.txt',
      'datasets/from-url.txt',
      `outputs/${png.id}.png`,
    ],
    dirs: ['datasets', 'datasets/images', 'outputs'],
    sourceUrl: s.sourceUrl,
    cursors,
  };
}
