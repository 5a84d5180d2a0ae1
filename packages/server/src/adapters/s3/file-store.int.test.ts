import { createServer } from 'node:net';
import { StoreUnavailable } from '@hangar/core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
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
