import { mkdirSync, readdirSync, statSync, symlinkSync } from 'node:fs';
import { request as httpRequest } from 'node:http';
import { join } from 'node:path';
import { afterAll, beforeAll, beforeEach, describe, expect, it, vi } from 'vitest';
import { TEMP_PREFIX } from './safe-path.js';
import {
  FILES_BACKENDS,
  type FilesTestServer,
  multipartBody,
  rawRequest,
  startFilesServer,
} from './server.test-helper.js';

// One suite over both backends: the owner's folder on disk, and objects in a real S3 server. Tests about
// the disk tree itself (inodes, temporary files, symbolic links) run on disk only.
describe.each(FILES_BACKENDS)('Files API on %s', (backend) => {
  let s: FilesTestServer;
  const MAX_UPLOAD = 24 << 20;
  const onDisk = backend === 'disk';

  beforeAll(async () => {
    s = await startFilesServer({ maxUploadBytes: MAX_UPLOAD, backend });
  });
  afterAll(() => s.close());

  function get(path: string, headers: Record<string, string> = {}, who: 'alice' | 'bob' = 'alice') {
    return rawRequest(s.port, 'GET', `/v1/serverless/files${path}`, {
      authorization: s.keys[who],
      ...headers,
    });
  }

  function upload(
    path: string,
    content: Buffer | { size: number; byte: number },
    who: 'alice' | 'bob' = 'alice',
  ) {
    const form = multipartBody('file_upload', 'x.bin', content);
    return rawRequest(
      s.port,
      'POST',
      `/v1/serverless/files/file/local/${path}`,
      { authorization: s.keys[who], ...form.headers },
      form.body,
    );
  }

  const aliceFile = (rel: string, content: string | Buffer) => s.seed('alice', rel, content);
  const text = async (who: string, rel: string) => (await s.read(who, rel))?.toString('utf8');

  const ENTRY_KEYS = ['created_time', 'is_file', 'name', 'path', 'size', 'updated_time'];

  describe('listing', () => {
    beforeEach(async () => {
      await aliceFile('datasets/images/cat.jpg', 'meow');
      await aliceFile('datasets/readme.md', '# hi');
    });

    it('lists the root one level deep with fal entry objects', async () => {
      const res = await get('/list');
      expect(res.status).toBe(200);
      expect(res.headers['content-type']).toMatch(/^application\/json/);
      const entries = res.json() as Record<string, unknown>[];
      const datasets = entries.find((e) => e.name === 'datasets');
      expect(Object.keys(datasets ?? {}).sort()).toEqual(ENTRY_KEYS);
      expect(datasets).toMatchObject({ path: 'datasets', is_file: false, size: 0 });
      expect(datasets?.created_time).toMatch(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/);
    });

    it('lists a directory with paths relative to the root, accepting /data/ prefixes', async () => {
      for (const path of [
        '/list/datasets',
        '/list/data/datasets',
        '/list//data/datasets/',
        '/list/datasets/',
      ]) {
        const res = await get(path);
        expect(res.status, path).toBe(200);
        expect(res.json()).toEqual([
          expect.objectContaining({ path: 'datasets/images', name: 'images', is_file: false, size: 0 }),
          expect.objectContaining({ path: 'datasets/readme.md', name: 'readme.md', is_file: true, size: 4 }),
        ]);
      }
    });

    it('answers 404 for a missing directory and 400 for a file', async () => {
      const missing = await get('/list/nope');
      expect(missing.status).toBe(404);
      expect((missing.json() as { error: { type: string } }).error.type).toBe('not_found');
      const file = await get('/list/datasets/readme.md');
      expect(file.status).toBe(400);
      expect((file.json() as { error: { type: string } }).error.type).toBe('validation_error');
    });

    it('requires a key', async () => {
      const res = await rawRequest(s.port, 'GET', '/v1/serverless/files/list');
      expect(res.status).toBe(401);
    });
  });

  describe('download', () => {
    const content = Buffer.from('0123456789abcdefghij');
    beforeEach(() => aliceFile('dl/file.bin', content));

    it('streams the whole file with validators', async () => {
      const res = await get('/file/dl/file.bin');
      expect(res.status).toBe(200);
      expect(res.body).toEqual(content);
      expect(res.headers['content-type']).toBe('application/octet-stream');
      expect(res.headers['content-length']).toBe(String(content.length));
      expect(res.headers['accept-ranges']).toBe('bytes');
      expect(res.headers.etag).toMatch(onDisk ? /^"[0-9a-f]+-[0-9a-f]+"$/ : /^"[0-9a-f]+(-\d+)?"$/);
      expect(new Date(res.headers['last-modified'] ?? '').getTime()).toBeGreaterThan(0);
    });

    it.each([
      ['bytes=0-4', 206, '01234', 'bytes 0-4/20'],
      ['bytes=15-', 206, 'fghij', 'bytes 15-19/20'],
      ['bytes=-3', 206, 'hij', 'bytes 17-19/20'],
      ['bytes=18-100', 206, 'ij', 'bytes 18-19/20'],
      ['bytes=0-1,5-6', 200, '0123456789abcdefghij', undefined],
    ])('serves Range %s', async (range, status, body, contentRange) => {
      const res = await get('/file/dl/file.bin', { range });
      expect(res.status).toBe(status);
      expect(res.body.toString()).toBe(body);
      expect(res.headers['content-range']).toBe(contentRange);
      expect(res.headers['content-length']).toBe(String(body.length));
    });

    it.each(['bytes=20-', 'bytes=30-40', 'bytes=5-2', 'bytes=x-y', 'items=0-1', 'bytes=-0'])(
      'answers 416 to %s',
      async (range) => {
        const res = await get('/file/dl/file.bin', { range });
        expect(res.status).toBe(416);
        expect(res.headers['content-range']).toBe('bytes */20');
        expect((res.json() as { error: { type: string } }).error.type).toBe('validation_error');
      },
    );

    it('answers 304 to a matching If-None-Match and ignores a stale If-Range', async () => {
      const first = await get('/file/dl/file.bin');
      const etag = first.headers.etag as string;
      const again = await get('/file/dl/file.bin', { 'if-none-match': `"other", ${etag}` });
      expect(again.status).toBe(304);
      expect(again.body.length).toBe(0);
      const stale = await get('/file/dl/file.bin', { range: 'bytes=0-1', 'if-range': '"stale"' });
      expect(stale.status).toBe(200);
      expect(stale.body).toEqual(content);
    });

    it('answers HEAD with the headers only', async () => {
      const res = await rawRequest(s.port, 'HEAD', '/v1/serverless/files/file/dl/file.bin', {
        authorization: s.keys.alice,
      });
      expect(res.status).toBe(200);
      expect(res.headers['content-length']).toBe(String(content.length));
      expect(res.body.length).toBe(0);
    });

    it('answers 404 for a missing file and 400 for a directory', async () => {
      expect((await get('/file/dl/missing.bin')).status).toBe(404);
      expect((await get('/file/dl')).status).toBe(400);
    });
  });

  describe('local upload', () => {
    it('stores a small file and answers true', async () => {
      const res = await upload('up/small.txt', Buffer.from('hello'));
      expect(res.status).toBe(200);
      expect(res.json()).toBe(true);
      expect(await text('alice', 'up/small.txt')).toBe('hello');
    });

    it('streams a large file to disk', async () => {
      const size = 20 << 20;
      const res = await upload('up/large.bin', { size, byte: 7 });
      expect(res.status).toBe(200);
      expect((await s.read('alice', 'up/large.bin'))?.length).toBe(size);
      const down = await get('/file/up/large.bin', { range: `bytes=${size - 4}-` });
      expect(down.body).toEqual(Buffer.alloc(4, 7));
    });

    it.runIf(onDisk)('replaces an existing file atomically and leaves no temporary files', async () => {
      await aliceFile('up/replace.txt', 'old contents');
      const before = statSync(join(s.rootOf('alice'), 'up/replace.txt')).ino;
      const res = await upload('up/replace.txt', Buffer.from('new'));
      expect(res.status).toBe(200);
      const after = statSync(join(s.rootOf('alice'), 'up/replace.txt'));
      expect(await text('alice', 'up/replace.txt')).toBe('new');
      expect(after.ino).not.toBe(before);
      expect(readdirSync(join(s.rootOf('alice'), 'up')).filter((n) => n.startsWith(TEMP_PREFIX))).toEqual([]);
    });

    it('answers 413 over the cap and keeps the old file whole', async () => {
      await aliceFile('up/capped.bin', 'original');
      const res = await upload('up/capped.bin', { size: MAX_UPLOAD + 1, byte: 1 });
      expect(res.status).toBe(413);
      expect(await text('alice', 'up/capped.bin')).toBe('original');
      expect(await s.leftovers()).toEqual([]);
    });

    it.runIf(onDisk)('removes the temporary file when the client disconnects mid-upload', async () => {
      const boundary = 'cut';
      const head = `--${boundary}\r\nContent-Disposition: form-data; name="file_upload"; filename="x"\r\n\r\n`;
      const req = httpRequest({
        host: '127.0.0.1',
        port: s.port,
        method: 'POST',
        path: '/v1/serverless/files/file/local/cut/partial.bin',
        headers: { authorization: s.keys.alice, 'content-type': `multipart/form-data; boundary=${boundary}` },
      });
      req.on('error', () => undefined);
      req.write(head);
      req.write(Buffer.alloc(256 * 1024, 1));
      const dir = join(s.rootOf('alice'), 'cut');
      await vi.waitFor(() => expect(readdirSync(dir).length).toBeGreaterThan(0), { timeout: 10_000 });
      req.destroy();
      await vi.waitFor(() => expect(readdirSync(dir)).toEqual([]), { timeout: 10_000 });
    });

    it('refuses a wrong part name, a non-multipart body and a directory target', async () => {
      const form = multipartBody('file', 'x', Buffer.from('x'));
      const wrong = await rawRequest(
        s.port,
        'POST',
        '/v1/serverless/files/file/local/up/w.txt',
        { authorization: s.keys.alice, ...form.headers },
        form.body,
      );
      expect(wrong.status).toBe(400);
      const json = await rawRequest(
        s.port,
        'POST',
        '/v1/serverless/files/file/local/up/w.txt',
        { authorization: s.keys.alice, 'content-type': 'application/json' },
        '{}',
      );
      expect(json.status).toBe(400);
      await aliceFile('up/dir/inside.txt', 'x');
      expect((await upload('up/dir', Buffer.from('x'))).status).toBe(400);
      expect(await s.exists('alice', 'up/w.txt')).toBe(false);
    });
  });

  describe('delete and move (extensions)', () => {
    it('moves a file, refuses to overwrite a folder, then deletes recursively', async () => {
      await aliceFile('mv/a.txt', 'A');
      await aliceFile('mv/folder/b.txt', 'B');
      const headers = { authorization: s.keys.alice, 'content-type': 'application/json' };
      const move = (from: string, to: string) =>
        rawRequest(
          s.port,
          'POST',
          `/v1/serverless/files/move/${from}`,
          headers,
          JSON.stringify({ destination: to }),
        );
      const moved = await move('mv/a.txt', 'mv/renamed/a2.txt');
      expect([moved.status, moved.json()]).toEqual([200, true]);
      expect(await text('alice', 'mv/renamed/a2.txt')).toBe('A');
      expect((await move('mv/renamed/a2.txt', 'mv/folder')).status).toBe(409);
      expect((await move('mv/folder', 'mv/folder/inner')).status).toBe(400);
      expect((await move('mv/missing', 'mv/x')).status).toBe(404);
      expect((await move('mv/folder', '../escape')).status).toBe(400);
      const del = (p: string) =>
        rawRequest(s.port, 'DELETE', `/v1/serverless/files/file/${p}`, { authorization: s.keys.alice });
      expect((await del('mv')).status).toBe(204);
      expect(await s.exists('alice', 'mv')).toBe(false);
      expect((await del('mv')).status).toBe(404);
      expect((await del('')).status).toBe(400);
    });
  });

  describe('tenant isolation', () => {
    it("keeps bob out of alice's tree on every operation", async () => {
      await aliceFile('private/secret.txt', 'alice only');
      expect((await get('/file/private/secret.txt', {}, 'bob')).status).toBe(404);
      expect((await get('/list/private', {}, 'bob')).status).toBe(404);
      const bobRoot = (await get('/list', {}, 'bob')).json() as { name: string }[];
      expect(bobRoot.map((e) => e.name)).not.toContain('private');
      expect((await upload('private/secret.txt', Buffer.from('bob was here'), 'bob')).status).toBe(200);
      expect(await text('alice', 'private/secret.txt')).toBe('alice only');
      expect(await text('bob', 'private/secret.txt')).toBe('bob was here');
      const del = await rawRequest(s.port, 'DELETE', '/v1/serverless/files/file/private', {
        authorization: s.keys.bob,
      });
      expect(del.status).toBe(204);
      expect(await s.exists('alice', 'private/secret.txt')).toBe(true);
      expect((await get('/file/../alice/private/secret.txt', {}, 'bob')).status).toBe(400);
      expect((await get('/file/..%2falice/private/secret.txt', {}, 'bob')).status).toBe(400);
    });

    it.runIf(onDisk)("refuses a symlink in bob's tree that points into alice's", async () => {
      await aliceFile('private/secret.txt', 'alice only');
      mkdirSync(s.rootOf('bob'), { recursive: true });
      symlinkSync(s.rootOf('alice'), join(s.rootOf('bob'), 'peek'));
      expect((await get('/file/peek/private/secret.txt', {}, 'bob')).status).toBe(400);
      expect((await get('/list/peek', {}, 'bob')).status).toBe(400);
      const bobRoot = (await get('/list', {}, 'bob')).json() as { name: string }[];
      expect(bobRoot.map((e) => e.name)).not.toContain('peek');
    });
  });

  describe('traversal matrix', () => {
    const attacks = [
      '..',
      '../bob/x',
      'a/../../bob',
      '%2e%2e',
      '%2E%2E/bob',
      '.%2e/bob',
      '..%2fbob',
      '%2e%2e%2fbob',
      'a%2f..%2f..%2fbob',
      '%252e%252e/bob',
      '%252e%252e%252fbob',
      '..%5cbob',
      'a\\..\\..\\bob',
      '%00',
      'a%00b',
      '/etc/passwd',
      '/..',
      'C:%5cwindows',
      '%c0%ae%c0%ae/bob',
      'a%zz',
    ];
    const ops: [string, string, Record<string, string>, string | undefined][] = [
      ['GET', 'list/', {}, undefined],
      ['GET', 'file/', {}, undefined],
      ['DELETE', 'file/', {}, undefined],
      [
        'POST',
        'file/url/',
        { 'content-type': 'application/json' },
        JSON.stringify({ url: 'http://8.8.8.8/x' }),
      ],
      ['POST', 'move/', { 'content-type': 'application/json' }, JSON.stringify({ destination: 'moved' })],
      ['POST', 'file/local/', multipartBody('file_upload', 'x', Buffer.from('x')).headers, undefined],
    ];

    // Seeded once: s3rver rewrites an object in place, so a read racing its own rewrite may see it empty.
    beforeAll(() => s.seed('bob', 'x', 'bob'));

    it.each(attacks)(
      'answers 400 validation_error to %j on every operation and touches nothing',
      async (attack) => {
        for (const [method, prefix, headers, body] of ops) {
          const res = await rawRequest(
            s.port,
            method,
            `/v1/serverless/files/${prefix}${attack}`,
            { authorization: s.keys.alice, ...headers },
            body,
          );
          expect(res.status, `${method} ${prefix}${attack}`).toBe(400);
          expect((res.json() as { error: { type: string } }).error.type).toBe('validation_error');
        }
        expect(await text('bob', 'x')).toBe('bob');
        expect(await s.exists('alice', 'moved')).toBe(false);
      },
    );
  });
});
