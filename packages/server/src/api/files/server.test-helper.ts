import { mkdtempSync, rmSync } from 'node:fs';
import { request as httpRequest, type IncomingHttpHeaders } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import type { Stores } from '@hangar/core';
import { createHttpApp, type HttpApp } from '../../http/app.js';
import { createAuthenticator, hashSecret } from '../../http/auth.js';
import { createSqliteStores } from '../../store/sqlite/index.js';
import { createStorageQuota, type StorageLimits, type StorageQuota } from './quota.js';
import { type FileDeps, registerFileRoutes } from './routes.js';
import { measureTree } from './usage-walk.js';

// A real Files API on 127.0.0.1 over real SQLite keys and a temporary data folder, for tests.

/** A running Files API with one API key per owner (`alice`, `bob`). */
export interface FilesTestServer {
  app: HttpApp;
  port: number;
  dataDir: string;
  keys: Record<'alice' | 'bob', string>;
  quota: StorageQuota;
  rootOf(owner: string): string;
  close(): Promise<void>;
}

/** Options overriding the defaults of {@link startFilesServer}. */
export type FilesTestOptions = Partial<Omit<FileDeps, 'urlFetch' | 'zip' | 'quota'>> & {
  urlFetch?: Partial<FileDeps['urlFetch']>;
  zip?: Partial<FileDeps['zip']>;
  /** Every owner's storage quota (unlimited in practice by default). */
  quota?: Partial<StorageLimits>;
};

async function addKey(stores: Stores, owner: string): Promise<string> {
  const keyId = `${owner}-key`;
  const secret = `${owner}-secret`;
  const key = { keyId, owner, scope: 'API' as const, name: null, createdAt: 0, revokedAt: null };
  await stores.keys.insertKey(key, hashSecret(secret));
  return `Key ${keyId}:${secret}`;
}

/** Starts the Files routes on an ephemeral port of 127.0.0.1. */
export async function startFilesServer(opts: FilesTestOptions = {}): Promise<FilesTestServer> {
  const dir = mkdtempSync(join(tmpdir(), 'hangar-files-'));
  const dataDir = join(dir, 'data');
  const stores = createSqliteStores({ path: join(dir, 'hangar.db') });
  const app = createHttpApp({
    logger: false,
    authenticator: createAuthenticator(stores.keys),
    bodyLimit: 1 << 20,
  });
  const rootOf = (owner: string) => join(dataDir, owner);
  const clock = opts.clock ?? Date.now;
  const quota = createStorageQuota({
    limitsFor: () => ({ bytes: Number.MAX_SAFE_INTEGER, files: Number.MAX_SAFE_INTEGER, ...opts.quota }),
    measure: (owner) => measureTree((opts.dataRoot ?? rootOf)(owner)),
    clock,
    freshnessMs: 60_000,
  });
  registerFileRoutes(app, {
    dataRoot: opts.dataRoot ?? rootOf,
    quota,
    ownerIds: opts.ownerIds,
    maxUploadBytes: opts.maxUploadBytes ?? 64 << 20,
    urlFetch: { allowlist: [], timeoutMs: 5_000, maxBytes: 1 << 20, ...opts.urlFetch },
    zip: { maxEntries: 100, maxTotalBytes: 1 << 20, ...opts.zip },
    clock,
  });
  const keys = { alice: await addKey(stores, 'alice'), bob: await addKey(stores, 'bob') };
  await app.listen({ host: '127.0.0.1', port: 0 });
  const port = (app.server.address() as AddressInfo).port;
  return {
    app,
    port,
    dataDir,
    keys,
    quota,
    rootOf,
    async close() {
      await app.close();
      await stores.close();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

/** A response read whole. */
export interface RawResponse {
  status: number;
  headers: IncomingHttpHeaders;
  body: Buffer;
  json(): unknown;
}

/** Sends a request with the path exactly as given (no URL normalisation), over a real socket. */
export function rawRequest(
  port: number,
  method: string,
  path: string,
  headers: Record<string, string | number> = {},
  body?: Buffer | string | Readable,
): Promise<RawResponse> {
  return new Promise((resolve, reject) => {
    const req = httpRequest({ host: '127.0.0.1', port, method, path, headers }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('error', reject);
      res.on('end', () => {
        const buf = Buffer.concat(chunks);
        resolve({
          status: res.statusCode ?? 0,
          headers: res.headers,
          body: buf,
          json: () => JSON.parse(buf.toString('utf8')),
        });
      });
    });
    req.on('error', reject);
    if (body instanceof Readable) body.pipe(req);
    else req.end(body);
  });
}

/** A multipart/form-data body with one file part, streamed in chunks (never held whole). */
export function multipartBody(
  field: string,
  filename: string,
  content: Buffer | { size: number; byte: number },
): { headers: Record<string, string>; body: Readable } {
  const boundary = `hangar${Math.random().toString(16).slice(2)}`;
  const head = Buffer.from(
    `--${boundary}\r\nContent-Disposition: form-data; name="${field}"; filename="${filename}"\r\n` +
      'Content-Type: application/octet-stream\r\n\r\n',
  );
  const tail = Buffer.from(`\r\n--${boundary}--\r\n`);
  function* chunks(): Generator<Buffer> {
    yield head;
    if (Buffer.isBuffer(content)) yield content;
    else {
      const block = Buffer.alloc(1 << 20, content.byte);
      for (let left = content.size; left > 0; left -= block.length)
        yield block.subarray(0, Math.min(left, block.length));
    }
    yield tail;
  }
  return {
    headers: { 'content-type': `multipart/form-data; boundary=${boundary}` },
    body: Readable.from(chunks(), { objectMode: false }),
  };
}
