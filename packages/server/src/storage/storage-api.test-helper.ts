import { existsSync, mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { FileStore, Stores } from '@hangar/core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestKey } from '../gateway/test-server.js';
import { createHttpApp, type HttpApp } from '../http/app.js';
import { createAuthenticator } from '../http/auth.js';
import { createSqliteStores } from '../store/sqlite/index.js';
import { createFalStorage, type FalStorage } from './fal-storage.js';
import { registerStorageRoutes } from './routes.js';

/**
 * fal's storage API end to end, on whichever object storage `openObjects` gives (a fresh one; `dir` is
 * the test's temporary folder).
 */
export function describeStorageApi(
  backend: string,
  openObjects: (dir: string) => Promise<FileStore>,
  outage?: { freeze(): void; thaw(): void },
): void {
  describe(`fal storage API, objects on ${backend}`, () => {
    const MAX_OBJECT = 64 * 1024;
    const QUOTA = 160 * 1024;
    const TTL_MS = 600_000;

    let dir: string;
    let stores: Stores;
    let http: HttpApp;
    let base: string;
    let alice: string;
    let bob: string;
    let now = Date.UTC(2030, 0, 1);
    let storage: FalStorage;
    let objects: FileStore;

    beforeAll(async () => {
      dir = mkdtempSync(join(tmpdir(), 'hangar-storage-'));
      stores = createSqliteStores({ path: join(dir, 'hangar.db') });
      objects = await openObjects(dir);
      storage = createFalStorage({
        objects,
        secret: Buffer.alloc(32, 7),
        clock: () => now,
        publicUrl: () => base,
        maxObjectBytes: MAX_OBJECT,
        quotaBytes: (owner) => (owner === 'carol' ? 1024 : QUOTA),
        uploadUrlTtlMs: TTL_MS,
      });
      http = createHttpApp({
        logger: false,
        authenticator: createAuthenticator(stores.keys),
        bodyLimit: 1 << 20,
      });
      registerStorageRoutes(http, { storage, objects });
      base = await http.listen({ host: '127.0.0.1', port: 0 });
      alice = await createTestKey(stores.keys, 'alice');
      bob = await createTestKey(stores.keys, 'bob');
    });

    afterAll(async () => {
      await http?.close();
      await stores?.close();
      rmSync(dir, { recursive: true, force: true });
    });

    interface Target {
      upload_url: string;
      file_url: string;
    }

    async function initiate(
      key: string,
      body: object,
      opts: { multipart?: boolean; lifecycle?: string } = {},
    ) {
      const res = await fetch(
        `${base}/storage/upload/initiate${opts.multipart ? '-multipart' : ''}?storage_type=fal-cdn-v3`,
        {
          method: 'POST',
          headers: {
            authorization: `Key ${key}`,
            'content-type': 'application/json',
            ...(opts.lifecycle ? { 'x-fal-object-lifecycle': opts.lifecycle } : {}),
          },
          body: JSON.stringify(body),
        },
      );
      return { status: res.status, body: (await res.json()) as Target & { error?: { code: string } } };
    }

    const put = (url: string, body: RequestInit['body'], headers: Record<string, string> = {}) =>
      fetch(url, { method: 'PUT', body, headers, duplex: 'half' } as RequestInit);

    const partUrl = (upload: string, suffix: string) => {
      const u = new URL(upload);
      return `${u.origin}${u.pathname}/${suffix}${u.search}`;
    };

    async function code(res: Response): Promise<[number, string]> {
      const body = (await res.json()) as { error: { code: string } };
      return [res.status, body.error.code];
    }

    /** Every object the store holds, and any work file left on disk: nothing partial may stay behind. */
    async function storedFiles(): Promise<string[]> {
      const out: string[] = [];
      for await (const o of objects.list('')) out.push(o.key);
      const tmp = join(dir, 'storage', 'tmp');
      if (existsSync(tmp)) for (const name of readdirSync(tmp)) out.push(`tmp/${name}`);
      return out.sort();
    }

    describe('single-part upload and file URL', () => {
      it('initiate → PUT upload_url without a key → GET file_url with type, length, etag and ranges', async () => {
        const { status, body } = await initiate(alice, {
          content_type: 'text/plain',
          file_name: 'hello world.txt',
        });
        expect(status).toBe(200);
        expect(body.upload_url).toMatch(new RegExp(`^${base}/storage/upload/[A-Za-z0-9_-]{32}\\?token=`));
        expect(body.file_url).toMatch(new RegExp(`^${base}/files/[A-Za-z0-9_-]{32}/hello%20world\\.txt$`));
        const up = await put(body.upload_url, 'hello, storage', { 'content-type': 'text/plain' });
        expect(up.status).toBe(200);

        const got = await fetch(body.file_url);
        expect(got.status).toBe(200);
        expect(got.headers.get('content-type')).toBe('text/plain');
        expect(got.headers.get('content-length')).toBe('14');
        expect(got.headers.get('x-content-type-options')).toBe('nosniff');
        const etag = got.headers.get('etag') ?? '';
        expect(etag).toMatch(/^"[0-9a-f]{32}"$/);
        expect(await got.text()).toBe('hello, storage');

        const ranged = await fetch(body.file_url, { headers: { range: 'bytes=7-' } });
        expect(ranged.status).toBe(206);
        expect(ranged.headers.get('content-range')).toBe('bytes 7-13/14');
        expect(await ranged.text()).toBe('storage');
        const bad = await fetch(body.file_url, { headers: { range: 'bytes=99-' } });
        expect(bad.status).toBe(416);
        expect((await fetch(body.file_url, { headers: { 'if-none-match': etag } })).status).toBe(304);
        const head = await fetch(body.file_url, { method: 'HEAD' });
        expect(head.headers.get('content-length')).toBe('14');
        // The name is part of the capability: another name under the same id is not found.
        const renamed = body.file_url.replace(/[^/]+$/, 'other.txt');
        expect(await code(await fetch(renamed))).toEqual([404, 'STORAGE_OBJECT_NOT_FOUND']);
        // An object is written once.
        expect(await code(await put(body.upload_url, 'again'))).toEqual([409, 'STORAGE_UPLOAD_COMPLETED']);
      });

      it('initiate needs a key', async () => {
        const res = await fetch(`${base}/storage/upload/initiate`, {
          method: 'POST',
          headers: { 'content-type': 'application/json' },
          body: '{}',
        });
        expect(await code(res)).toEqual([401, 'AUTH_MISSING']);
      });
    });

    describe('upload URLs are signed, short-lived and bound to the owner', () => {
      it('refuses forged, expired, other-owner and swapped upload URLs, storing nothing', async () => {
        const before = await storedFiles();
        const { body } = await initiate(alice, { file_name: 'a.bin' });
        const url = new URL(body.upload_url);
        const token = url.searchParams.get('token') ?? '';
        const [payload, sig] = token.split('.') as [string, string];

        // A payload rewritten to another owner, signed by nobody.
        const claims = JSON.parse(Buffer.from(payload, 'base64url').toString());
        const forged = Buffer.from(JSON.stringify({ ...claims, owner: 'bob' })).toString('base64url');
        const forgedUrl = `${url.origin}${url.pathname}?token=${forged}.${sig}`;
        expect(await code(await put(forgedUrl, 'x'))).toEqual([403, 'STORAGE_UPLOAD_URL_INVALID']);
        expect(await code(await put(`${url.origin}${url.pathname}`, 'x'))).toEqual([
          403,
          'STORAGE_UPLOAD_URL_INVALID',
        ]);

        // Bob's key sent with Alice's URL.
        const asBob = await put(body.upload_url, 'x', { authorization: `Key ${bob}` });
        expect(await code(asBob)).toEqual([403, 'STORAGE_UPLOAD_URL_INVALID']);

        // Alice's token on an upload id Bob was given.
        const bobs = (await initiate(bob, { file_name: 'b.bin' })).body;
        const swapped = `${new URL(bobs.upload_url).origin}${new URL(bobs.upload_url).pathname}${url.search}`;
        expect(await code(await put(swapped, 'x'))).toEqual([403, 'STORAGE_UPLOAD_URL_INVALID']);

        // A single-part URL used as a multipart one.
        expect(await code(await put(partUrl(body.upload_url, '1'), 'x'))).toEqual([
          403,
          'STORAGE_UPLOAD_URL_INVALID',
        ]);

        now += TTL_MS + 1;
        try {
          expect(await code(await put(body.upload_url, 'x'))).toEqual([403, 'STORAGE_UPLOAD_URL_EXPIRED']);
        } finally {
          now -= TTL_MS + 1;
        }
        expect(await code(await fetch(body.file_url))).toEqual([404, 'STORAGE_OBJECT_NOT_FOUND']);
        expect(await storedFiles()).toEqual(before);
      });

      it.each([
        ['../../etc/passwd'],
        ['/etc/passwd'],
        ['a/b.txt'],
        ['..\\..\\boot.ini'],
        ['..'],
        ['evil\u0000.png'],
        [''],
      ])('refuses the file name %j', async (name) => {
        const { status, body } = await initiate(alice, { file_name: name });
        expect([status, body.error?.code]).toEqual([400, 'STORAGE_FILE_NAME_INVALID']);
      });
    });

    describe('size limits and quota', () => {
      it('refuses an object over the limit, declared or streamed, keeping nothing', async () => {
        const before = await storedFiles();
        const { body } = await initiate(alice, { file_name: 'big.bin' });
        const declared = await put(body.upload_url, new Uint8Array(MAX_OBJECT + 1));
        expect(await code(declared)).toEqual([413, 'STORAGE_OBJECT_TOO_LARGE']);
        const chunked = new ReadableStream({
          start(c) {
            for (let i = 0; i < 5; i++) c.enqueue(new Uint8Array(MAX_OBJECT / 4));
            c.close();
          },
        });
        expect(await code(await put(body.upload_url, chunked))).toEqual([413, 'STORAGE_OBJECT_TOO_LARGE']);
        expect(await code(await fetch(body.file_url))).toEqual([404, 'STORAGE_OBJECT_NOT_FOUND']);
        expect(await storedFiles()).toEqual(before);
      });

      it("answers 413 in fal's envelope past the owner's quota, and counts what is stored", async () => {
        const key = await createTestKey(stores.keys, 'carol');
        const first = (await initiate(key, { file_name: 'one' })).body;
        expect((await put(first.upload_url, new Uint8Array(1000))).status).toBe(200);
        expect(await storage.usage('carol')).toBe(1000);
        const second = (await initiate(key, { file_name: 'two' })).body;
        const res = await put(second.upload_url, new Uint8Array(100));
        expect(res.status).toBe(413);
        expect(await res.json()).toEqual({
          error: {
            type: 'validation_error',
            code: 'STORAGE_QUOTA_EXCEEDED',
            message: expect.stringContaining('1024'),
          },
        });
        expect(await storage.usage('carol')).toBe(1000);
      });
    });

    describe('multipart upload', () => {
      const partA = new Uint8Array(40_000).fill(65);
      const partB = new Uint8Array(10_000).fill(66);

      async function twoParts() {
        const { body } = await initiate(
          alice,
          { file_name: 'multi.bin', content_type: 'application/x-test' },
          { multipart: true },
        );
        const a = (await (await put(partUrl(body.upload_url, '1'), partA)).json()) as {
          partNumber: number;
          etag: string;
        };
        const b = (await (await put(partUrl(body.upload_url, '2'), partB)).json()) as {
          partNumber: number;
          etag: string;
        };
        expect(a).toEqual({ partNumber: 1, etag: expect.stringMatching(/^[0-9a-f]{32}$/) });
        expect(b.partNumber).toBe(2);
        return { target: body, a, b };
      }

      const complete = (upload: string, parts: unknown) =>
        fetch(partUrl(upload, 'complete'), {
          method: 'POST',
          headers: { 'content-type': 'application/json' },
          body: JSON.stringify({ parts }),
        });

      it('refuses bad part lists at complete, serving nothing, then completes with the right one', async () => {
        const { target, a, b } = await twoParts();
        const bad = [
          [b, a],
          [a, a, b],
          [a, b, { partNumber: 3, etag: a.etag }],
          [a, { partNumber: 2, etag: a.etag }],
          [b],
          [],
          'nope',
        ];
        for (const parts of bad) {
          expect(await code(await complete(target.upload_url, parts))).toEqual([
            400,
            'STORAGE_PARTS_INVALID',
          ]);
          expect((await fetch(target.file_url)).status).toBe(404);
        }
        const ok = await complete(target.upload_url, [a, b]);
        expect(ok.status).toBe(200);
        const got = await fetch(target.file_url);
        expect(got.headers.get('content-type')).toBe('application/x-test');
        const bytes = new Uint8Array(await got.arrayBuffer());
        expect(bytes.length).toBe(50_000);
        expect(bytes[39_999]).toBe(65);
        expect(bytes[40_000]).toBe(66);
        // The parts are gone once the object stands.
        expect((await storedFiles()).filter((f) => f.includes('/uploads/'))).toEqual([]);
      });

      it('refuses parts past the object limit', async () => {
        const { body } = await initiate(alice, { file_name: 'm.bin' }, { multipart: true });
        expect((await put(partUrl(body.upload_url, '1'), new Uint8Array(MAX_OBJECT - 10))).status).toBe(200);
        expect(await code(await put(partUrl(body.upload_url, '2'), new Uint8Array(11)))).toEqual([
          413,
          'STORAGE_OBJECT_TOO_LARGE',
        ]);
        expect(await code(await put(partUrl(body.upload_url, '0'), new Uint8Array(1)))).toEqual([
          400,
          'STORAGE_PARTS_INVALID',
        ]);
      });
    });

    describe('object lifecycle', () => {
      it('honours X-Fal-Object-Lifecycle and deletes expired objects and abandoned parts', async () => {
        const lifecycle = JSON.stringify({ expiration_duration_seconds: 60 });
        const short = (await initiate(alice, { file_name: 's.txt' }, { lifecycle })).body;
        const swept = (await initiate(alice, { file_name: 't.txt' }, { lifecycle })).body;
        const kept = (await initiate(alice, { file_name: 'k.txt' })).body;
        for (const t of [short, swept, kept]) expect((await put(t.upload_url, 'bytes')).status).toBe(200);
        const abandoned = (await initiate(alice, { file_name: 'p.bin' }, { multipart: true })).body;
        expect((await put(partUrl(abandoned.upload_url, '1'), 'part')).status).toBe(200);
        expect((await fetch(short.file_url)).status).toBe(200);

        const invalid = await initiate(
          alice,
          { file_name: 'x' },
          { lifecycle: '{"expiration_duration_seconds":-1}' },
        );
        expect([invalid.status, invalid.body.error?.code]).toEqual([400, 'STORAGE_LIFECYCLE_INVALID']);

        now += 61_000;
        expect(await code(await fetch(short.file_url))).toEqual([404, 'STORAGE_OBJECT_NOT_FOUND']);
        now += TTL_MS;
        expect(await storage.sweep()).toBeGreaterThanOrEqual(2);
        expect((await fetch(kept.file_url)).status).toBe(200);
        const ids = [short, swept, abandoned].map((t) => new URL(t.upload_url).pathname.split('/')[3]);
        for (const id of ids) expect((await storedFiles()).some((f) => f.includes(id ?? '?'))).toBe(false);
      });
    });
    if (outage)
      it('answers 503 with Retry-After while the object storage is down', async () => {
        const { body: target } = await initiate(alice, { file_name: 'down.txt', content_type: 'text/plain' });
        expect((await put(target.upload_url, 'still here', { 'content-type': 'text/plain' })).status).toBe(
          200,
        );
        outage.freeze();
        try {
          const down = await fetch(target.file_url);
          expect(down.status).toBe(503);
          expect(Number(down.headers.get('retry-after'))).toBeGreaterThan(0);
          expect(await code(down)).toEqual([503, 'STORAGE_UNAVAILABLE']);
          const { status, body } = await initiate(alice, {
            file_name: 'new.txt',
            content_type: 'text/plain',
          });
          if (status === 200) {
            const refused = await put(body.upload_url, 'x', { 'content-type': 'text/plain' });
            expect(await code(refused)).toEqual([503, 'STORAGE_UNAVAILABLE']);
          } else expect(status).toBe(503);
        } finally {
          outage.thaw();
        }
        expect(await (await fetch(target.file_url)).text()).toBe('still here');
      }, 60_000);
  });
}
