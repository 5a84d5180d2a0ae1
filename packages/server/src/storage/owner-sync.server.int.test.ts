import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { type FileStore, isOpened } from '@hangar/core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createS3FileStore } from '../adapters/s3/file-store.js';
import { type S3TestServer, startS3Server } from '../adapters/s3/s3rver.test-helper.js';
import { loadConfig } from '../config.js';
import { type RunningServer, startServer } from '../main.js';
import { multiTenantIsolation } from '../runners/sandbox/availability.test-helper.js';
import { until } from '../runners/supervisor.test-helper.js';

// The whole server with `s3://` storage: a runner's DATA_DIR is the node's cache, and what it writes
// reaches the bucket.
describe('server with S3 storage: runners write DATA_DIR back to the store', () => {
  let s3: S3TestServer;
  let home: string;
  let server: RunningServer;
  let objects: FileStore;
  let key: string;

  beforeAll(async () => {
    s3 = await startS3Server();
    const bucket = await s3.bucket('server-files');
    ({ home, server } = await startS3Hangar(s3, bucket, 'hangar-s3-server-', 1));
    key = readFileSync(join(home, 'admin.key'), 'utf8').trim();
    objects = createS3FileStore({
      bucket,
      prefix: 'hangar/',
      endpoint: s3.endpoint,
      region: 'us-east-1',
      forcePathStyle: true,
      credentials: s3.credentials,
      requestTimeoutMs: 2000,
      maxAttempts: 2,
    });
  });

  afterAll(async () => {
    await server?.shutdown();
    await s3?.close();
    if (home) rmSync(home, { recursive: true, force: true });
  });

  it('publishes the image the png app wrote to DATA_DIR under files/<owner>/', async () => {
    const res = await fetch(`${server.url}/run/solo/png`, {
      method: 'POST',
      headers: { authorization: `Key ${key}`, 'content-type': 'application/json' },
      body: JSON.stringify({ prompt: 'a cache', width: 8, height: 8, steps: 1 }),
    });
    expect(res.status).toBe(200);
    const { images } = (await res.json()) as { images: Array<{ path: string }> };
    const rel = images[0]?.path ?? '';
    expect(rel).toMatch(/^outputs\/.+\.png$/);
    // The runner wrote into this node's cache, not into HANGAR_HOME/data.
    expect(existsSync(join(home, 'cache', 'files', 'solo', rel))).toBe(true);
    expect(existsSync(join(home, 'data', 'solo', rel))).toBe(false);
    const stored = await until(async () => {
      const opened = await objects.open(`files/solo/${rel}`);
      if (!isOpened(opened)) return null;
      const chunks: Buffer[] = [];
      for await (const c of opened.body) chunks.push(Buffer.from(c));
      return Buffer.concat(chunks);
    });
    expect(stored.equals(readFileSync(join(home, 'cache', 'files', 'solo', rel)))).toBe(true);
  });
});

// With a sync interval far longer than the test, a file written or deleted through the Files API reaches
// (or leaves) a running runner's DATA_DIR on this node only because the API asks for a refresh.
describe('server with S3 storage: Files API changes refresh the runner cache on this node', () => {
  let s3: S3TestServer;
  let home: string;
  let server: RunningServer;
  let auth: string;

  beforeAll(async () => {
    s3 = await startS3Server();
    const bucket = await s3.bucket('refresh-files');
    ({ home, server } = await startS3Hangar(s3, bucket, 'hangar-s3-refresh-', 3600));
    auth = `Key ${readFileSync(join(home, 'admin.key'), 'utf8').trim()}`;
  });

  afterAll(async () => {
    await server?.shutdown();
    await s3?.close();
    if (home) rmSync(home, { recursive: true, force: true });
  });

  const cached = (rel: string) => join(home, 'cache', 'files', 'solo', rel);
  const readCached = (rel: string) => (existsSync(cached(rel)) ? readFileSync(cached(rel), 'utf8') : null);

  it('shows an uploaded, moved and deleted file in DATA_DIR long before the interval', async () => {
    // A runner of the owner runs on this node (the echo app keeps one).
    const ran = await fetch(`${server.url}/run/solo/echo`, {
      method: 'POST',
      headers: { authorization: auth, 'content-type': 'application/json' },
      body: JSON.stringify({ hello: 'cache' }),
    });
    expect(ran.status).toBe(200);
    await ran.arrayBuffer();

    const form = new FormData();
    form.append('file_upload', new Blob(['fresh weights']), 'w.bin');
    const up = await fetch(`${server.url}/v1/serverless/files/file/local/models/w.bin`, {
      method: 'POST',
      headers: { authorization: auth },
      body: form,
    });
    expect(up.status).toBe(200);
    expect(await until(() => readCached('models/w.bin'))).toBe('fresh weights');

    const moved = await fetch(`${server.url}/v1/serverless/files/move/models/w.bin`, {
      method: 'POST',
      headers: { authorization: auth, 'content-type': 'application/json' },
      body: JSON.stringify({ destination: 'models/v2.bin' }),
    });
    expect(moved.status).toBe(200);
    expect(await until(() => readCached('models/v2.bin'))).toBe('fresh weights');
    await until(() => !existsSync(cached('models/w.bin')));

    const gone = await fetch(`${server.url}/v1/serverless/files/file/models/v2.bin`, {
      method: 'DELETE',
      headers: { authorization: auth },
    });
    expect(gone.status).toBe(204);
    await until(() => !existsSync(cached('models/v2.bin')));
  });
});

/** A whole server (demo apps deployed, owner `solo`) whose storage is `s3://<bucket>/hangar` on `s3`. */
async function startS3Hangar(
  s3: S3TestServer,
  bucket: string,
  tmpPrefix: string,
  syncIntervalS: number,
): Promise<{ home: string; server: RunningServer }> {
  const home = mkdtempSync(join(tmpdir(), tmpPrefix));
  const s3Config = {
    access_key_id: s3.credentials.accessKeyId,
    secret_access_key: s3.credentials.secretAccessKey,
  };
  writeFileSync(
    join(home, 'hangar.config.json'),
    JSON.stringify({
      runners: { isolation: multiTenantIsolation },
      storage: { sync_interval_s: syncIntervalS, s3: s3Config },
    }),
  );
  const env = {
    HANGAR_LOG_LEVEL: 'silent',
    HANGAR_HOME: home,
    HANGAR_OWNER: 'solo',
    HANGAR_STORAGE_URL: `s3://${bucket}/hangar`,
    HANGAR_S3_ENDPOINT: s3.endpoint,
  };
  const server = await startServer(loadConfig({ port: '0', home }, env, home), { demo: true });
  return { home, server };
}
