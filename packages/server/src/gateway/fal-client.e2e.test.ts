import { createHash, randomBytes } from 'node:crypto';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { ApiError, createFalClient, fal } from '@fal-ai/client';
import { type Stores, systemClock } from '@hangar/core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createDiskFileStore } from '../adapters/disk/file-store.js';
import { createFalStorage, registerStorageRoutes } from '../storage/index.js';
import { type GatewayStack, openGatewayStack } from './e2e-stack.test-helper.js';
import { createTestKey } from './test-server.js';

const ECHO_DIR = resolve(dirname(fileURLToPath(import.meta.url)), '../../../../examples/echo-node');

let stack: GatewayStack;
let stores: Stores;
let base: string;
let key: string;

beforeAll(async () => {
  stack = await openGatewayStack({
    prefix: 'hangar-fal-e2e-',
    register: ({ http, dir, base: url }) => {
      const objects = createDiskFileStore(join(dir, 'storage'));
      const storage = createFalStorage({
        objects,
        secret: randomBytes(32),
        clock: systemClock,
        publicUrl: url,
        maxObjectBytes: 256 * 1024 * 1024,
        quotaBytes: () => 1024 * 1024 * 1024,
        uploadUrlTtlMs: 600_000,
      });
      registerStorageRoutes(http, { storage, objects });
    },
  });
  ({ stores, base } = stack);
  key = await createTestKey(stores.keys, 'alice');
  await stack.deployDir('alice', ECHO_DIR);
});

afterAll(async () => {
  await stack?.close();
});

type Client = ReturnType<typeof createFalClient>;

/** URLs the client fetched (every call, the upload PUTs included), to see which protocol it used. */
const fetched: string[] = [];
const recordingFetch: typeof fetch = (input, init) => {
  fetched.push(typeof input === 'string' ? input : input instanceof URL ? input.href : input.url);
  return fetch(input, init);
};

const clients: [string, () => Client][] = [
  [
    'proxyUrl when always',
    () => {
      fal.config({
        credentials: key,
        proxyUrl: { url: `${base}/fal/proxy`, when: 'always' },
        fetch: recordingFetch,
      });
      return fal as unknown as Client;
    },
  ],
  [
    'requestMiddleware rewrite',
    () =>
      createFalClient({
        credentials: key,
        fetch: recordingFetch,
        requestMiddleware: async (req) => ({
          ...req,
          url: req.url
            .replace(/^https:\/\/queue\.fal\.run\//, `${base}/queue/`)
            .replace(/^https:\/\/fal\.run\//, `${base}/run/`)
            .replace(/^https:\/\/rest\.fal\.ai\//, `${base}/`),
        }),
      }),
  ],
];

describe.each(clients)('@fal-ai/client via %s', (_name, make) => {
  let client: Client;
  beforeAll(() => {
    client = make();
  });

  it('fal.subscribe polls with logs and onQueueUpdate, then returns the result', async () => {
    const updates: { status: string; logs?: { message: string }[] }[] = [];
    const result = await client.subscribe('alice/echo/slow', {
      input: { sleep_ms: 700, tag: 'sub' },
      logs: true,
      pollInterval: 100,
      onQueueUpdate: (u) => updates.push(u as (typeof updates)[number]),
    });
    expect(result.data).toMatchObject({ echo: { sleep_ms: 700, tag: 'sub' } });
    expect(result.requestId).toMatch(/^[0-9a-f-]{36}$/);
    expect(updates.at(-1)?.status).toBe('COMPLETED');
    const messages = updates.flatMap((u) => u.logs ?? []).map((l) => l.message);
    expect(messages.some((m) => m.startsWith('progress'))).toBe(true);
  });

  it('fal.subscribe in streaming mode accumulates logs from the status stream', async () => {
    const updates: { status: string; logs?: { message: string }[] }[] = [];
    const result = await client.subscribe('alice/echo/slow', {
      input: { sleep_ms: 500 },
      logs: true,
      mode: 'streaming',
      onQueueUpdate: (u) => updates.push(u as (typeof updates)[number]),
    });
    expect(result.data).toMatchObject({ echo: { sleep_ms: 500 } });
    expect(updates.at(-1)?.status).toBe('COMPLETED');
    expect((updates.at(-1)?.logs ?? []).some((l) => l.message.startsWith('progress'))).toBe(true);
  });

  it('fal.queue.submit, status, streamStatus and result', async () => {
    const sub = await client.queue.submit('alice/echo', { input: { sleep_ms: 300, n: 1 } });
    expect(sub).toMatchObject({ status: 'IN_QUEUE', request_id: expect.any(String) });
    expect(sub.status_url).toBe(`${base}/queue/alice/echo/requests/${sub.request_id}/status`);
    const status = await client.queue.status('alice/echo', { requestId: sub.request_id, logs: true });
    expect(['IN_QUEUE', 'IN_PROGRESS', 'COMPLETED']).toContain(status.status);
    const stream = await client.queue.streamStatus('alice/echo', { requestId: sub.request_id, logs: true });
    const seen: string[] = [];
    stream.on('data', (d: { status: string }) => seen.push(d.status));
    const last = (await stream.done()) as { status: string };
    expect(last.status).toBe('COMPLETED');
    expect(seen.at(-1)).toBe('COMPLETED');
    const result = await client.queue.result('alice/echo', { requestId: sub.request_id });
    expect(result).toEqual({
      data: expect.objectContaining({ echo: { sleep_ms: 300, n: 1 } }),
      requestId: sub.request_id,
    });
  });

  it('fal.queue.cancel stops a running request; cancelling a finished one is refused', async () => {
    const sub = await client.queue.submit('alice/echo', { input: { sleep_ms: 20_000 } });
    await expect
      .poll(async () => (await client.queue.status('alice/echo', { requestId: sub.request_id })).status)
      .toBe('IN_PROGRESS');
    await client.queue.cancel('alice/echo', { requestId: sub.request_id });
    await expect
      .poll(async () => (await client.queue.status('alice/echo', { requestId: sub.request_id })).status)
      .toBe('COMPLETED');
    const err = await client.queue
      .cancel('alice/echo', { requestId: sub.request_id })
      .catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ApiError);
    expect((err as ApiError<unknown>).status).toBe(400);
    expect((err as ApiError<unknown>).body).toEqual({ status: 'ALREADY_COMPLETED' });
  });

  it('fal.run answers synchronously with the request id', async () => {
    const res = await client.run('alice/echo', { input: { hello: 'run' } });
    expect(res.data).toMatchObject({ echo: { hello: 'run' } });
    expect(res.requestId).toMatch(/^[0-9a-f-]{36}$/);
  });

  it('fal.storage.upload stores a small blob at a file_url anyone can GET', async () => {
    const url = await client.storage.upload(new Blob(['tiny bytes'], { type: 'text/plain' }));
    expect(url.startsWith(`${base}/files/`)).toBe(true);
    const res = await fetch(url);
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toBe('text/plain');
    expect(await res.text()).toBe('tiny bytes');
  });

  it('fal.storage.upload of a 100 MiB blob goes multipart and reads back byte for byte', async () => {
    const bytes = randomBytes(100 * 1024 * 1024);
    const start = fetched.length;
    const url = await client.storage.upload(new Blob([bytes]));
    const calls = fetched.slice(start);
    expect(calls.filter((u) => /\/storage\/upload\/[\w-]{32}\/\d+\?token=/.test(u))).toHaveLength(10);
    expect(calls.some((u) => /\/storage\/upload\/[\w-]{32}\/complete\?token=/.test(u))).toBe(true);
    const res = await fetch(url);
    expect(res.headers.get('content-length')).toBe(String(bytes.length));
    const digest = createHash('sha256');
    for await (const chunk of res.body as unknown as AsyncIterable<Uint8Array>) digest.update(chunk);
    expect(digest.digest('hex')).toBe(createHash('sha256').update(bytes).digest('hex'));
  }, 120_000);

  it('surfaces gateway errors as ApiError with the fal envelope', async () => {
    const err = await client.run('alice/missing', { input: {} }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ApiError);
    expect((err as ApiError<{ error: { code: string } }>).status).toBe(404);
    expect((err as ApiError<{ error: { code: string } }>).body.error.code).toBe('APP_NOT_FOUND');
  });
});
