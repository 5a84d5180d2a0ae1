import { createHash, randomBytes } from 'node:crypto';
import { cpSync, readFileSync, writeFileSync } from 'node:fs';
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
  await stack.deployDir('alice', soloCopy(stack.dir));
});

/** The echo app as `solo`: one runner serving one request at a time, so a second request waits. */
function soloCopy(root: string): string {
  const dir = join(root, 'solo-app');
  cpSync(ECHO_DIR, dir, { recursive: true });
  const manifest = JSON.parse(readFileSync(join(dir, 'hangar.json'), 'utf8')) as Record<string, unknown>;
  const solo = { ...manifest, name: 'solo', max_concurrency: 1, max_multiplexing: 1 };
  writeFileSync(join(dir, 'hangar.json'), JSON.stringify(solo));
  return dir;
}

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

  it("surfaces gateway errors as ApiError carrying fal's error_type", async () => {
    const err = await client.run('alice/missing', { input: {} }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ApiError);
    expect((err as ApiError<FalError>).status).toBe(404);
    expect((err as ApiError<FalError>).body).toEqual({
      detail: 'App alice/missing not found',
      error_type: 'not_found',
    });
  });

  it('throws client_cancelled from the result of a cancelled request', async () => {
    const blocker = await client.queue.submit('alice/solo', { input: { sleep_ms: 20_000 } });
    const sub = await client.queue.submit('alice/solo', { input: { n: 1 } });
    await client.queue.cancel('alice/solo', { requestId: sub.request_id });
    await client.queue.cancel('alice/solo', { requestId: blocker.request_id });
    await expect
      .poll(async () => (await client.queue.status('alice/solo', { requestId: sub.request_id })).status)
      .toBe('COMPLETED');
    const err = await client.queue
      .result('alice/solo', { requestId: sub.request_id })
      .catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ApiError);
    expect((err as ApiError<FalError>).status).toBe(499);
    expect((err as ApiError<FalError>).body.error_type).toBe('client_cancelled');
    expect((err as ApiError<FalError>).requestId).toBe(sub.request_id);
  });
});

/** fal's gateway error body. */
interface FalError {
  detail: string;
  error_type: string;
}

describe('fal_max_queue_length through fal.queue.submit', () => {
  it('is answered 429 queue_length_exceeded when more requests wait than the caller allows', async () => {
    // Client 1.10.1 has no option for it: fal's docs say to put it on the URL, which a request
    // middleware does here for the submit calls only.
    const submits: string[] = [];
    const limited = createFalClient({
      credentials: key,
      fetch: recordingFetch,
      requestMiddleware: async (req) => {
        let url = req.url.replace(/^https:\/\/queue\.fal\.run\//, `${base}/queue/`);
        if (req.method === 'POST') {
          url += `${url.includes('?') ? '&' : '?'}fal_max_queue_length=0`;
          submits.push(url);
        }
        return { ...req, url };
      },
    });
    const plain = createFalClient({
      credentials: key,
      requestMiddleware: async (req) => ({
        ...req,
        url: req.url.replace(/^https:\/\/queue\.fal\.run\//, `${base}/queue/`),
      }),
    });
    // One runner with one slot: the first request holds it, the second waits.
    const running = await plain.queue.submit('alice/solo', { input: { sleep_ms: 20_000 } });
    const waiting = await plain.queue.submit('alice/solo', { input: { n: 2 } });
    try {
      const err = await limited.queue.submit('alice/solo', { input: { n: 3 } }).catch((e: unknown) => e);
      expect(err).toBeInstanceOf(ApiError);
      expect((err as ApiError<FalError>).status).toBe(429);
      expect((err as ApiError<FalError>).body).toEqual({
        detail: expect.stringContaining('fal_max_queue_length=0'),
        error_type: 'queue_length_exceeded',
      });
      // The client retries a 429 like fal's gateway answers (3 retries), each refused the same way.
      expect(submits).toHaveLength(4);
      expect(submits.every((u) => u.endsWith('/queue/alice/solo?fal_max_queue_length=0'))).toBe(true);
    } finally {
      await plain.queue.cancel('alice/solo', { requestId: waiting.request_id });
      await plain.queue.cancel('alice/solo', { requestId: running.request_id });
    }
  }, 60_000);
});

describe('a sync call whose runner crashes', () => {
  it("answers 503 runner_disconnected in fal's gateway shape", async () => {
    const res = await fetch(`${base}/run/alice/echo`, {
      method: 'POST',
      headers: { authorization: `Key ${key}`, 'content-type': 'application/json' },
      body: JSON.stringify({ fail: 'crash' }),
    });
    expect(res.status).toBe(503);
    expect(res.headers.get('x-fal-error-type')).toBe('runner_disconnected');
    expect(await res.json()).toEqual({ detail: expect.any(String), error_type: 'runner_disconnected' });
  }, 30_000);
});
