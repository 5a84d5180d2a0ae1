import { createServer, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { FILES_BACKENDS, type FilesTestServer, rawRequest, startFilesServer } from './server.test-helper.js';

// A real origin on 127.0.0.1: reachable only when an operator allowlists it.
let origin: Server;
let originUrl: string;
const hanging: ServerResponse[] = [];

function serveOrigin(): Promise<void> {
  origin = createServer((req, res) => {
    const path = req.url ?? '/';
    if (path === '/file') return res.end('hello from url');
    if (path === '/redirect-ok') return res.writeHead(302, { location: '/file' }).end();
    if (path === '/redirect-metadata') {
      return res.writeHead(302, { location: 'http://169.254.169.254/latest/meta-data/' }).end();
    }
    if (path === '/redirect-private') return res.writeHead(307, { location: 'http://10.0.0.8/x' }).end();
    if (path === '/redirect-loop') return res.writeHead(302, { location: '/redirect-loop' }).end();
    if (path === '/big') return res.writeHead(200, { 'content-length': 4096 }).end(Buffer.alloc(4096));
    if (path === '/big-chunked') {
      res.writeHead(200);
      for (let i = 0; i < 8; i++) res.write(Buffer.alloc(1024));
      return res.end();
    }
    if (path === '/slow') {
      res.writeHead(200);
      res.write('partial');
      hanging.push(res);
      return;
    }
    res.writeHead(404).end('missing');
  });
  return new Promise((resolve) => origin.listen(0, '127.0.0.1', () => resolve()));
}

beforeAll(async () => {
  await serveOrigin();
  originUrl = `http://127.0.0.1:${(origin.address() as AddressInfo).port}`;
});
afterAll(async () => {
  for (const res of hanging) res.destroy();
  await new Promise((resolve) => origin.close(resolve));
});

// One suite over both backends (the owner's folder on disk, objects in a real S3 server).
describe.each(FILES_BACKENDS)('on %s', (backend) => {
  let open: FilesTestServer;
  let closed: FilesTestServer;

  beforeAll(async () => {
    const names: Record<string, string[]> = {
      'files.internal.test': ['127.0.0.1'],
      'evil.test': ['10.1.2.3'],
    };
    // 'stuck.test' never resolves: the deadline must still end the request.
    const resolve = (host: string) =>
      host === 'stuck.test' ? new Promise<string[]>(() => undefined) : Promise.resolve(names[host] ?? []);
    open = await startFilesServer({
      backend,
      urlFetch: { allowlist: ['127.0.0.1/32'], maxBytes: 2048, timeoutMs: 1_000, resolve },
    });
    closed = await startFilesServer({
      backend,
      urlFetch: { allowlist: [], maxBytes: 2048, timeoutMs: 1_000, resolve },
    });
  });
  afterAll(async () => {
    await open.close();
    await closed.close();
  });

  async function fetchInto(server: FilesTestServer, target: string, url: string, extra: object = {}) {
    const res = await rawRequest(
      server.port,
      'POST',
      `/v1/serverless/files/file/url/${target}`,
      { authorization: server.keys.alice, 'content-type': 'application/json' },
      JSON.stringify({ url, ...extra }),
    );
    return { status: res.status, body: res.json() as boolean | { error: { type: string; message: string } } };
  }

  const stored = async (server: FilesTestServer, rel: string) =>
    (await server.read('alice', rel))?.toString();

  describe('upload from URL', () => {
    it('downloads from an allowlisted internal source and answers true', async () => {
      expect(await fetchInto(open, 'from-url/a.txt', `${originUrl}/file`)).toEqual({
        status: 200,
        body: true,
      });
      expect(await stored(open, 'from-url/a.txt')).toBe('hello from url');
    });

    it('follows a redirect that stays on an allowed address', async () => {
      expect((await fetchInto(open, 'from-url/b.txt', `${originUrl}/redirect-ok`)).status).toBe(200);
      expect(await stored(open, 'from-url/b.txt')).toBe('hello from url');
    });

    it('connects to the address it checked, not to a second lookup', async () => {
      const port = (origin.address() as AddressInfo).port;
      const res = await fetchInto(open, 'from-url/c.txt', `http://files.internal.test:${port}/file`);
      expect(res.status).toBe(200);
      expect(await stored(open, 'from-url/c.txt')).toBe('hello from url');
    });

    it('refuses loopback by default with a clear 400', async () => {
      const res = await fetchInto(closed, 'x.txt', `${originUrl}/file`);
      expect(res.status).toBe(400);
      const err = (res.body as { error: { type: string; message: string } }).error;
      expect(err.type).toBe('validation_error');
      expect(err.message).toMatch(/loopback, private, link-local or reserved/);
      expect(await closed.exists('alice', 'x.txt')).toBe(false);
    });

    it.each([
      'http://169.254.169.254/latest/meta-data/',
      'http://[::1]/',
      'http://[::ffff:127.0.0.1]/',
      'http://0x7f.1/',
      'http://2130706433/',
      'http://0.0.0.0/',
      'http://100.64.1.1/',
      'http://evil.test/',
    ])('refuses %s before connecting', async (url) => {
      expect((await fetchInto(closed, 'x.txt', url)).status).toBe(400);
    });

    it.each([
      'ftp://example.com/x',
      'file:///etc/passwd',
      'data:text/plain,hi',
      'not a url',
      'http://u:p@8.8.8.8/',
    ])('refuses %s as invalid', async (url) => {
      expect((await fetchInto(open, 'x.txt', url)).status).toBe(400);
    });

    it('re-checks every redirect hop', async () => {
      for (const path of ['/redirect-metadata', '/redirect-private']) {
        const res = await fetchInto(open, 'r.txt', `${originUrl}${path}`);
        expect(res.status, path).toBe(400);
        expect((res.body as { error: { message: string } }).error.message).toMatch(/not allowed|Refused/);
      }
      expect((await fetchInto(open, 'r.txt', `${originUrl}/redirect-loop`)).status).toBe(400);
      expect(await open.exists('alice', 'r.txt')).toBe(false);
    });

    it('caps the size by Content-Length and by counted bytes', async () => {
      expect((await fetchInto(open, 'big.bin', `${originUrl}/big`)).status).toBe(413);
      expect((await fetchInto(open, 'big.bin', `${originUrl}/big-chunked`)).status).toBe(413);
      expect(await open.exists('alice', 'big.bin')).toBe(false);
    });

    it('gives up at the deadline without leaving a partial file', async () => {
      const res = await fetchInto(open, 'slow.txt', `${originUrl}/slow`);
      expect(res.status).toBe(400);
      expect((res.body as { error: { message: string } }).error.message).toMatch(/timed out/);
      expect(await open.exists('alice', 'slow.txt')).toBe(false);
      const stuck = await fetchInto(open, 'stuck.txt', 'http://stuck.test/file');
      expect((stuck.body as { error: { message: string } }).error.message).toMatch(/timed out/);
    });

    it('answers 400 for an upstream error status and for unknown body fields', async () => {
      expect((await fetchInto(open, 'm.txt', `${originUrl}/missing`)).status).toBe(400);
      expect((await fetchInto(open, 'm.txt', `${originUrl}/file`, { extra: 1 })).status).toBe(400);
    });
  });

  describe('upload from URL with URL prefixes allowlisted', () => {
    let prefixed: FilesTestServer;
    beforeAll(async () => {
      prefixed = await startFilesServer({
        backend,
        urlFetch: {
          allowlist: [`${originUrl}/file`, `${originUrl}/redirect-ok`],
          maxBytes: 2048,
          timeoutMs: 1_000,
        },
      });
    });
    afterAll(() => prefixed.close());

    it('fetches URLs under a prefix (private addresses included) and on every redirect hop', async () => {
      expect((await fetchInto(prefixed, 'p/a.txt', `${originUrl}/file`)).status).toBe(200);
      expect((await fetchInto(prefixed, 'p/b.txt', `${originUrl}/redirect-ok`)).status).toBe(200);
      expect(await stored(prefixed, 'p/b.txt')).toBe('hello from url');
    });

    it.each(['/big', '/filex', '/redirect-private', 'https://example.com/file'])(
      'refuses %s, which is under no prefix',
      async (path) => {
        const url = path.startsWith('/') ? `${originUrl}${path}` : path;
        const res = await fetchInto(prefixed, 'p/refused.bin', url);
        expect(res.status).toBe(400);
        expect((res.body as { error: { message: string } }).error.message).toMatch(/not under a prefix/);
        expect(await prefixed.exists('alice', 'p/refused.bin')).toBe(false);
      },
    );
  });
});
