import {
  existsSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
  writeFileSync,
} from 'node:fs';
import { request as httpRequest, type IncomingHttpHeaders } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { type FileStore, isOpened, type Stores } from '@hangar/core';
import { createS3FileStore, type S3StoreOptions } from '../../adapters/s3/file-store.js';
import { type S3TestServer, startS3Server } from '../../adapters/s3/s3rver.test-helper.js';
import { createHttpApp, type HttpApp } from '../../http/app.js';
import { createAuthenticator, hashSecret } from '../../http/auth.js';
import { createSqliteStores } from '../../store/sqlite/index.js';
import { createStorageQuota, type StorageLimits, type StorageQuota } from './quota.js';
import { type FileDeps, registerFileRoutes } from './routes.js';
import { TEMP_PREFIX } from './safe-path.js';
import type { DownloadRedirect } from './store-files.js';
import { FOLDER_MARKER, ownerPrefix, tallyOwner, walkPrefix } from './store-keys.js';
import { measureTree } from './usage-walk.js';

// A real Files API on 127.0.0.1 over real SQLite keys and either a temporary data folder (`disk`) or a
// real S3 server (s3rver in its own process, `s3`), for tests. The tests that share a suite over both
// read and seed files only through the backend-neutral methods (`seed`, `read`, `exists`, `leftovers`).

/** Where the test server keeps owners' files. */
export type FilesBackend = 'disk' | 's3';

/** Both backends, for `describe.each`. */
export const FILES_BACKENDS: readonly FilesBackend[] = ['disk', 's3'];

/** A running Files API with one API key per owner (`alice`, `bob`). */
export interface FilesTestServer {
  app: HttpApp;
  port: number;
  dataDir: string;
  keys: Record<'alice' | 'bob', string>;
  quota: StorageQuota;
  backend: FilesBackend;
  /** The S3 server (s3 backend only), to freeze and thaw it. */
  s3: S3TestServer | null;
  /** The object store (s3 backend only). */
  objects: FileStore | null;
  /** The owner's folder (disk backend only; tests of the disk tree itself). */
  rootOf(owner: string): string;
  /** Writes a file straight into the owner's storage, bypassing the API (as a runner would). */
  seed(owner: string, rel: string, content: string | Buffer): Promise<void>;
  /** A file's bytes read straight from the owner's storage; null when absent. */
  read(owner: string, rel: string): Promise<Buffer | null>;
  /** Whether a file or folder exists in the owner's storage. */
  exists(owner: string, rel: string): Promise<boolean>;
  /** In-flight temporary entries left anywhere in the storage or the scratch folder. */
  leftovers(): Promise<string[]>;
  close(): Promise<void>;
}

/** Options overriding the defaults of {@link startFilesServer}. */
export type FilesTestOptions = Partial<Omit<FileDeps, 'urlFetch' | 'zip' | 'quota'>> & {
  urlFetch?: Partial<FileDeps['urlFetch']>;
  zip?: Partial<FileDeps['zip']>;
  /** Every owner's storage quota (unlimited in practice by default). */
  quota?: Partial<StorageLimits>;
  /** `disk` by default. */
  backend?: FilesBackend;
  /** s3 only: overrides of the store's options (credentials, timeouts). */
  s3Store?: Partial<S3StoreOptions>;
  /** s3 only: redirect downloads of this size and more to signed URLs. */
  redirect?: DownloadRedirect;
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
  const scratchDir = join(dir, 'scratch');
  const backend = opts.backend ?? 'disk';
  const s3 = backend === 's3' ? await startS3Server() : null;
  const objects = s3
    ? createS3FileStore({
        bucket: await s3.bucket('hangar-files'),
        prefix: 'hangar/',
        endpoint: s3.endpoint,
        region: 'us-east-1',
        forcePathStyle: true,
        credentials: s3.credentials,
        requestTimeoutMs: 2_000,
        maxAttempts: 2,
        ...opts.s3Store,
      })
    : null;
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
    measure: (owner) =>
      objects ? tallyOwner(objects, owner) : measureTree((opts.dataRoot ?? rootOf)(owner)),
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
    ...(objects ? { objects: { store: objects, scratchDir, redirect: opts.redirect ?? null } } : {}),
  });
  const keys = { alice: await addKey(stores, 'alice'), bob: await addKey(stores, 'bob') };
  await app.listen({ host: '127.0.0.1', port: 0 });
  const port = (app.server.address() as AddressInfo).port;
  const key = (owner: string, rel: string) => ownerPrefix(owner) + rel.split('/').filter(Boolean).join('/');
  return {
    app,
    port,
    dataDir,
    keys,
    quota,
    backend,
    s3,
    objects,
    rootOf,
    async seed(owner, rel, content) {
      if (objects) {
        await objects.put(
          key(owner, rel),
          (async function* () {
            yield Buffer.from(content);
          })(),
          {},
        );
        return;
      }
      const abs = join(rootOf(owner), rel);
      mkdirSync(join(abs, '..'), { recursive: true });
      writeFileSync(abs, content);
    },
    async read(owner, rel) {
      if (!objects) {
        const abs = join(rootOf(owner), rel);
        return existsSync(abs) ? readFileSync(abs) : null;
      }
      const opened = await objects.open(key(owner, rel));
      if (!isOpened(opened)) return null;
      const chunks: Uint8Array[] = [];
      for await (const c of opened.body) chunks.push(c);
      return Buffer.concat(chunks);
    },
    async exists(owner, rel) {
      if (!objects) return existsSync(join(rootOf(owner), rel));
      if (await objects.head(key(owner, rel))) return true;
      const page = await objects.listPage({ prefix: `${key(owner, rel)}/`, limit: 1 });
      return page.objects.length > 0;
    },
    async leftovers() {
      const found: string[] = [];
      if (objects) {
        for await (const o of walkPrefix(objects, 'files/')) {
          const name = o.key.slice(o.key.lastIndexOf('/') + 1);
          if (name.startsWith(TEMP_PREFIX) && name !== FOLDER_MARKER) found.push(o.key);
        }
        if (existsSync(scratchDir)) found.push(...readdirSync(scratchDir));
        return found;
      }
      if (!existsSync(dataDir)) return found;
      for (const entry of readdirSync(dataDir, { recursive: true }) as string[]) {
        if (entry.split('/').some((n) => n.startsWith(TEMP_PREFIX))) found.push(entry);
      }
      return found;
    },
    async close() {
      await app.close();
      await stores.close();
      await s3?.close();
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
