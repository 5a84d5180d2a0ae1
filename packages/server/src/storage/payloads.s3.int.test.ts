import { afterAll, beforeAll } from 'vitest';
import { createS3FileStore } from '../adapters/s3/file-store.js';
import { type S3TestServer, startS3Server } from '../adapters/s3/s3rver.test-helper.js';
import { describePayloadStore } from './payloads.test-helper.js';

let s3: S3TestServer;
beforeAll(async () => {
  s3 = await startS3Server();
});
afterAll(() => s3.close());

describePayloadStore(
  's3',
  async () =>
    createS3FileStore({
      bucket: await s3.bucket('payloads'),
      prefix: 'hangar/',
      endpoint: s3.endpoint,
      region: 'us-east-1',
      forcePathStyle: true,
      credentials: s3.credentials,
      requestTimeoutMs: 1_000,
      maxAttempts: 2,
    }),
  { freeze: () => s3.freeze(), thaw: () => s3.thaw() },
);
