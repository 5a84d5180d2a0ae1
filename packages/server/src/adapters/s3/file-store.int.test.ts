import { createServer as createHttpServer, request } from 'node:http';
import { createServer } from 'node:net';
import { type FileStore, isOpened, type ReadOptions, StoreConflict, StoreUnavailable } from '@hangar/core';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { describeFileStoreContract } from '../../storage/file-store-contract.test-helper.js';
import { createS3FileStore, type S3StoreOptions } from './file-store.js';
import { type S3TestServer, startS3Server } from './s3rver.test-helper.js';

let s3: S3TestServer;
let buckets = 0;
beforeAll(async () => {
  s3 = await startS3Server();
});
afterAll(() => s3.close());

function options(over: Partial<S3StoreOptions>): S3StoreOptions {
  return {
    bucket: 'unset',
    prefix: '',
    endpoint: s3.endpoint,
    region: 'us-east-1',
    forcePathStyle: true,
    credentials: s3.credentials,
    requestTimeoutMs: 5000,
    maxAttempts: 2,
    partBytes: 5 << 20,
    ...over,
  };
}

// Each store gets a fresh bucket; every other one also sits under a key prefix, as with s3://bucket/prefix.
describeFileStoreContract('s3', async () => {
  const n = buckets++;
  const bucket = await s3.bucket(`contract-${n}`);
  return createS3FileStore(options({ bucket, prefix: n % 2 === 0 ? '' : 'tenant/hangar/' }));
});

// The same contract with every copy and move of a non-empty object made as a multipart copy.
describeFileStoreContract('s3, multipart copies', async () => {
  const bucket = await s3.bucket(`contract-mp-${buckets++}`);
  return createS3FileStore(options({ bucket, prefix: 'p/', multipartCopyOverBytes: 0 }));
});

const MIB = 1 << 20;
async function* body(...parts: Buffer[]) {
  yield* parts;
}
async function bytesOf(store: FileStore, key: string, opts?: ReadOptions) {
  const opened = await store.open(key, opts);
  if (!isOpened(opened)) return opened;
  const out: Buffer[] = [];
  for await (const c of opened.body) out.push(Buffer.from(c));
  return Buffer.concat(out);
}
/** 11 MiB of varied bytes: three parts of 5 MiB. */
const big = Buffer.alloc(11 * MIB);
for (let i = 0; i < big.length; i += 4) big.writeUInt32LE((i * 2654435761) >>> 0, i);

describe('S3 adapter: copies past the single-copy limit', () => {
  it("copies and moves in parts, with the metadata, a multipart ETag and the port's conditions", async () => {
    const bucket = await s3.bucket('multipart-copy');
    const store = createS3FileStore(options({ bucket, multipartCopyOverBytes: MIB, copyPartBytes: 5 * MIB }));
    // Written in one piece (parts of 16 MiB), so its ETag is the plain MD5 of its bytes.
    const writer = createS3FileStore(options({ bucket, partBytes: 16 * MIB }));
    const src = await writer.put('big/src.bin', body(big), { type: 'model/weights', note: 'é x' });
    expect(src.etag).toMatch(/^[0-9a-f]{32}$/);
    const copied = await store.copy('big/src.bin', 'big/copy.bin');
    expect(copied).toMatchObject({ key: 'big/copy.bin', bytes: big.length, meta: src.meta });
    // S3's ETag of an object made of 3 parts; a validator of its own, not the source's.
    expect(copied?.etag).toMatch(/^[0-9a-f]{32}-3$/);
    expect(copied?.etag).not.toBe(src.etag);
    expect((await store.head('big/copy.bin'))?.etag).toBe(copied?.etag);
    expect(Buffer.compare((await bytesOf(store, 'big/copy.bin')) as Buffer, big)).toBe(0);
    expect(await bytesOf(store, 'big/copy.bin', { ifMatch: src.etag })).toMatchObject({
      unmet: 'precondition-failed',
    });
    expect(await bytesOf(store, 'big/copy.bin', { ifNoneMatch: copied!.etag })).toMatchObject({
      unmet: 'not-modified',
    });
    const part = await bytesOf(store, 'big/copy.bin', {
      range: { start: 5 * MIB - 2, end: 5 * MIB + 1 },
      ifMatch: copied!.etag,
    });
    expect(part).toEqual(big.subarray(5 * MIB - 2, 5 * MIB + 2));
    await expect(store.copy('big/src.bin', 'big/copy.bin', { ifNoneMatch: '*' })).rejects.toBeInstanceOf(
      StoreConflict,
    );

    const moved = await store.move('big/copy.bin', 'big/moved.bin');
    expect(moved).toMatchObject({ key: 'big/moved.bin', bytes: big.length, meta: src.meta });
    expect(await store.head('big/copy.bin')).toBeNull();
    expect(Buffer.compare((await bytesOf(store, 'big/moved.bin')) as Buffer, big)).toBe(0);
    expect(await store.move('big/none.bin', 'big/x.bin')).toBeNull();
    expect(await store.head('big/x.bin')).toBeNull();
  });

  it('aborts the multipart copy when a part fails, leaving no destination', async () => {
    const bucket = await s3.bucket('multipart-abort');
    // A proxy in front of the S3 server that fails every copy of part 2 and records the abort.
    const seen: string[] = [];
    const target = new URL(s3.endpoint);
    const proxy = createHttpServer((req, res) => {
      const url = new URL(req.url ?? '/', 'http://x');
      if (req.headers['x-amz-copy-source-range'] && url.searchParams.get('partNumber') === '2') {
        req.resume();
        res.writeHead(500, { 'content-type': 'application/xml' });
        res.end('<Error><Code>InternalError</Code><Message>injected</Message></Error>');
        return;
      }
      const out = request(
        { host: target.hostname, port: target.port, method: req.method, path: req.url, headers: req.headers },
        (answer) => {
          if (req.method === 'DELETE' && url.searchParams.has('uploadId'))
            seen.push(`abort ${answer.statusCode}`);
          res.writeHead(answer.statusCode ?? 502, answer.headers);
          answer.pipe(res);
        },
      );
      req.pipe(out);
    });
    await new Promise<void>((r) => proxy.listen(0, '127.0.0.1', r));
    try {
      const port = (proxy.address() as { port: number }).port;
      const store = createS3FileStore(
        options({
          bucket,
          endpoint: `http://127.0.0.1:${port}`,
          multipartCopyOverBytes: MIB,
          copyPartBytes: 5 * MIB,
        }),
      );
      await store.put('src.bin', body(big), {});
      await expect(store.copy('src.bin', 'dst.bin')).rejects.toBeInstanceOf(StoreUnavailable);
      await expect(store.move('src.bin', 'dst.bin')).rejects.toBeInstanceOf(StoreUnavailable);
      expect(await store.head('dst.bin')).toBeNull();
      expect((await store.head('src.bin'))?.bytes).toBe(big.length);
      expect(seen).toEqual(['abort 204', 'abort 204']);
    } finally {
      await new Promise<void>((r) => proxy.close(() => r()));
    }
  });
});

/** A proxy in front of the S3 server; `hold` requests wait until `release()`, and what passed is in `seen`. */
async function s3Proxy(hold: (method: string, url: URL) => boolean) {
  const seen: string[] = [];
  const waiting: Array<() => void> = [];
  let holding = true;
  const target = new URL(s3.endpoint);
  const server = createHttpServer((req, res) => {
    const url = new URL(req.url ?? '/', 'http://x');
    const forward = () => {
      const out = request(
        { host: target.hostname, port: target.port, method: req.method, path: req.url, headers: req.headers },
        (answer) => {
          seen.push(`${req.method} ${[...url.searchParams.keys()].join('&')} ${answer.statusCode}`);
          res.writeHead(answer.statusCode ?? 502, answer.headers);
          answer.pipe(res);
        },
      );
      req.pipe(out);
    };
    if (holding && hold(req.method ?? '', url)) waiting.push(forward);
    else forward();
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  return {
    endpoint: `http://127.0.0.1:${(server.address() as { port: number }).port}`,
    seen,
    held: () => waiting.length,
    release() {
      holding = false;
      for (const go of waiting.splice(0)) go();
    },
    close: () => new Promise<void>((r) => server.close(() => r())),
  };
}

describe('S3 adapter: streamed writes', () => {
  const PART = 5 * MIB;
  const CHUNK = 64 * 1024;

  it('reads the body no further than its part buffers while parts are in flight', async () => {
    const bucket = await s3.bucket('bounded-put');
    const proxy = await s3Proxy((method, url) => method === 'PUT' && url.searchParams.has('partNumber'));
    try {
      const store = createS3FileStore(options({ bucket, endpoint: proxy.endpoint, partBytes: PART }));
      let pulled = 0;
      const chunk = Buffer.alloc(CHUNK, 3);
      async function* body() {
        for (let i = 0; i < (40 * MIB) / CHUNK; i++) {
          pulled += CHUNK;
          yield chunk;
        }
      }
      const put = store.put('bounded.bin', body(), {});
      // Its three part buffers are sent and held by the proxy; then reading waits for a free one.
      await vi.waitFor(() => expect(proxy.held()).toBe(3), { timeout: 4000 });
      expect(pulled).toBeGreaterThanOrEqual(3 * PART);
      expect(pulled).toBeLessThanOrEqual(3 * PART + CHUNK);
      proxy.release();
      const info = await put;
      expect(info.bytes).toBe(40 * MIB);
      expect(info.etag).toMatch(/-8$/);
      expect((await store.head('bounded.bin'))?.bytes).toBe(40 * MIB);
    } finally {
      await proxy.close();
    }
  });

  it("aborts the upload when the body fails after parts were sent, and rethrows the body's error", async () => {
    const bucket = await s3.bucket('failed-put');
    const proxy = await s3Proxy(() => false);
    try {
      const store = createS3FileStore(options({ bucket, endpoint: proxy.endpoint, partBytes: PART }));
      async function* body() {
        yield big;
        throw new Error('client went away');
      }
      await expect(store.put('failed.bin', body(), {})).rejects.toThrow('client went away');
      expect(await store.head('failed.bin')).toBeNull();
      const parts = proxy.seen.filter((s) => s.startsWith('PUT') && s.includes('partNumber'));
      expect(parts.map((s) => s.split(' ')[2])).toEqual(['200', '200']);
      const aborts = proxy.seen.filter((s) => s.startsWith('DELETE') && s.includes('uploadId'));
      expect(aborts.map((s) => s.split(' ')[2])).toEqual(['204']);
    } finally {
      await proxy.close();
    }
  });
});

describe('S3 adapter failures', () => {
  it('answers StoreUnavailable when the server refuses connections, after the SDK retries', async () => {
    const closed = createServer();
    await new Promise<void>((r) => closed.listen(0, '127.0.0.1', r));
    const port = (closed.address() as { port: number }).port;
    await new Promise<void>((r) => closed.close(() => r()));
    const store = createS3FileStore(options({ bucket: 'gone', endpoint: `http://127.0.0.1:${port}` }));
    await expect(store.head('k')).rejects.toBeInstanceOf(StoreUnavailable);
    await expect(store.listPage({ prefix: '' })).rejects.toBeInstanceOf(StoreUnavailable);
  });

  it('gives up on a server that stops answering, within the request timeout, and recovers after', async () => {
    const bucket = await s3.bucket('frozen');
    const store = createS3FileStore(options({ bucket, requestTimeoutMs: 300, maxAttempts: 1 }));
    async function* body(text: string) {
      yield Buffer.from(text);
    }
    await store.put('k', body('before'), {});
    s3.freeze();
    try {
      await expect(store.head('k')).rejects.toBeInstanceOf(StoreUnavailable);
      await expect(store.put('k', body('during'), {})).rejects.toBeInstanceOf(StoreUnavailable);
      await expect(store.listPage({ prefix: '' })).rejects.toBeInstanceOf(StoreUnavailable);
    } finally {
      s3.thaw();
    }
    // Once it answers again, so does the store. (What became of the write cut off by the timeout is the
    // server's: S3 refuses a body shorter than its length, s3rver 3.7.1 may keep it truncated.)
    await store.put('k2', body('after'), {});
    const after = await store.open('k2');
    const chunks: Buffer[] = [];
    if (after && 'body' in after) for await (const c of after.body) chunks.push(Buffer.from(c));
    expect(Buffer.concat(chunks).toString()).toBe('after');
  });

  it('answers StoreUnavailable for a bucket that does not exist, never a half object', async () => {
    const store = createS3FileStore(options({ bucket: 'no-such-bucket' }));
    async function* body() {
      yield Buffer.from('x');
    }
    await expect(store.put('k', body(), {})).rejects.toBeInstanceOf(StoreUnavailable);
  });
});
