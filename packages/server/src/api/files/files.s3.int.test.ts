import { request as httpRequest } from 'node:http';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { type FilesTestServer, multipartBody, rawRequest, startFilesServer } from './server.test-helper.js';
import { FOLDER_MARKER } from './store-keys.js';

// What only the S3 backend has: folders as prefixes, signed-URL redirects, and an S3 that refuses or
// stops answering. (The shared suites run every other Files test on both backends.)

let s: FilesTestServer;
const REDIRECT_BYTES = 1024;

beforeAll(async () => {
  s = await startFilesServer({
    backend: 's3',
    redirect: { overBytes: REDIRECT_BYTES, expiresInS: 60 },
    s3Store: { requestTimeoutMs: 1_000, maxAttempts: 1 },
  });
});
afterAll(() => s.close());

const auth = () => ({ authorization: s.keys.alice });
const get = (path: string, headers: Record<string, string> = {}) =>
  rawRequest(s.port, 'GET', `/v1/serverless/files${path}`, { ...auth(), ...headers });
const del = (path: string) => rawRequest(s.port, 'DELETE', `/v1/serverless/files/file/${path}`, auth());
function upload(path: string, content: Buffer) {
  const form = multipartBody('file_upload', 'x.bin', content);
  return rawRequest(
    s.port,
    'POST',
    `/v1/serverless/files/file/local/${path}`,
    { ...auth(), ...form.headers },
    form.body,
  );
}
const names = async (path: string) => ((await get(path)).json() as { name: string }[]).map((e) => e.name);

describe('folders on S3', () => {
  it('keeps a folder the API emptied, and hides its marker', async () => {
    expect((await upload('keep/inner/a.txt', Buffer.from('a'))).status).toBe(200);
    expect((await del('keep/inner/a.txt')).status).toBe(204);
    expect(await names('/list/keep')).toEqual(['inner']);
    expect(await names('/list/keep/inner')).toEqual([]);
    expect((await del('keep/inner')).status).toBe(204);
    expect(await names('/list/keep')).toEqual([]);
    expect((await get(`/list/keep/${FOLDER_MARKER}`)).status).toBe(400);
  });

  it('lists a folder of more than one page (1,000 keys) whole, sorted', async () => {
    const body = async function* () {
      yield Buffer.from('x');
    };
    const keys = Array.from({ length: 1203 }, (_, i) => `files/alice/big/f${String(i).padStart(5, '0')}`);
    for (let i = 0; i < keys.length; i += 50) {
      await Promise.all(keys.slice(i, i + 50).map((k) => s.objects?.put(k, body(), {})));
    }
    await s.seed('alice', 'big/sub/y', 'y');
    const listed = await names('/list/big');
    expect(listed.length).toBe(1204);
    expect(listed[0]).toBe('f00000');
    expect(listed.at(-1)).toBe('sub');
  });

  it('refuses a file below a file, and a file over a folder', async () => {
    await s.seed('alice', 'plain.txt', 'p');
    expect((await upload('plain.txt/below.txt', Buffer.from('b'))).status).toBe(400);
    await s.seed('alice', 'dir/x.txt', 'x');
    expect((await upload('dir', Buffer.from('b'))).status).toBe(400);
    expect(await s.exists('alice', 'plain.txt/below.txt')).toBe(false);
  });

  it("never reaches another owner's objects, whatever the key", async () => {
    await s.seed('bob', 'secret.txt', 'bob only');
    for (const path of [
      '/file/../bob/secret.txt',
      '/file/..%2fbob/secret.txt',
      '/file/%2e%2e/bob/secret.txt',
    ]) {
      expect((await get(path)).status, path).toBe(400);
    }
    expect((await get('/file/secret.txt')).status).toBe(404);
    expect((await get('/file/files/bob/secret.txt')).status).toBe(404);
    expect((await get('/list/files')).status).toBe(404);
  });

  it('refuses a path whose key would pass the store limit (1,024 bytes)', async () => {
    const long = Array.from({ length: 5 }, () => 'a'.repeat(250)).join('/');
    const res = await upload(long, Buffer.from('x'));
    expect(res.status).toBe(400);
    expect((res.json() as { error: { type: string } }).error.type).toBe('validation_error');
  });
});

describe('downloads over the redirect size', () => {
  const big = Buffer.alloc(REDIRECT_BYTES * 4, 7);
  beforeAll(async () => {
    big.write('head', 0);
    await s.seed('alice', 'big.bin', big);
  });

  it('answers 302 to a signed URL of the store, which honours Range itself', async () => {
    const res = await get('/file/big.bin');
    expect(res.status).toBe(302);
    const url = res.headers.location as string;
    expect(url.startsWith(s.s3?.endpoint ?? '-')).toBe(true);
    expect(url).toMatch(/X-Amz-Signature=/);
    const whole = await fetch(url);
    expect(Buffer.from(await whole.arrayBuffer())).toEqual(big);
    const part = await fetch(url, { headers: { range: 'bytes=0-3' } });
    expect(part.status).toBe(206);
    expect(await part.text()).toBe('head');
  });

  it('still answers 304 itself, and streams files under the size', async () => {
    const first = await get('/file/big.bin');
    const etag = first.headers.etag as string;
    expect((await get('/file/big.bin', { 'if-none-match': etag })).status).toBe(304);
    await s.seed('alice', 'small.bin', 'small');
    const small = await get('/file/small.bin', { range: 'bytes=1-2' });
    expect([small.status, small.body.toString()]).toEqual([206, 'ma']);
  });
});

describe('an S3 that refuses or stops answering', () => {
  it('answers 503 with Retry-After when S3 refuses the credentials', async () => {
    const refused = await startFilesServer({
      backend: 's3',
      s3Store: { credentials: { accessKeyId: 'NOBODY', secretAccessKey: 'wrong' }, maxAttempts: 1 },
    });
    try {
      const res = await rawRequest(refused.port, 'GET', '/v1/serverless/files/list', {
        authorization: refused.keys.alice,
      });
      expect(res.status).toBe(503);
      expect(Number(res.headers['retry-after'])).toBeGreaterThan(0);
      expect((res.json() as { error: { type: string } }).error).toBeDefined();
    } finally {
      await refused.close();
    }
  });

  it('answers 503 with Retry-After while S3 is frozen, and keeps no half object', async () => {
    await s.seed('alice', 'frozen/old.txt', 'old');
    s.s3?.freeze();
    try {
      for (const res of [
        await get('/list/frozen'),
        await get('/file/frozen/old.txt'),
        await upload('frozen/new.bin', Buffer.alloc(64 << 10, 1)),
        await del('frozen/old.txt'),
      ]) {
        expect(res.status).toBe(503);
        expect(res.headers['retry-after']).toBeDefined();
        expect((res.json() as { error: { type: string } }).error.type).toBeDefined();
      }
    } finally {
      s.s3?.thaw();
    }
    // Connections left over from the freeze may be reset once: read again until the store answers.
    await vi.waitFor(async () => expect((await s.read('alice', 'frozen/old.txt'))?.toString()).toBe('old'), {
      timeout: 10_000,
    });
    expect(await s.exists('alice', 'frozen/new.bin')).toBe(false);
  });

  it('keeps nothing of an upload whose client disconnects mid-body', async () => {
    const boundary = 'cut';
    const req = httpRequest({
      host: '127.0.0.1',
      port: s.port,
      method: 'POST',
      path: '/v1/serverless/files/file/local/cut/partial.bin',
      headers: { ...auth(), 'content-type': `multipart/form-data; boundary=${boundary}` },
    });
    req.on('error', () => undefined);
    req.write(`--${boundary}\r\nContent-Disposition: form-data; name="file_upload"; filename="x"\r\n\r\n`);
    req.write(Buffer.alloc(6 << 20, 1));
    await new Promise((r) => setTimeout(r, 200));
    req.destroy();
    // The server is still serving, and the cut body became no object (multipart uploads are aborted).
    await vi.waitFor(async () => expect((await get('/list')).status).toBe(200), { timeout: 10_000 });
    expect(await s.exists('alice', 'cut/partial.bin')).toBe(false);
    expect(await s.leftovers()).toEqual([]);
  });
});
