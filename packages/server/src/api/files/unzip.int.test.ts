import { PlatformError } from '@hangar/core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { TEMP_PREFIX } from './safe-path.js';
import {
  FILES_BACKENDS,
  type FilesTestServer,
  multipartBody,
  rawRequest,
  startFilesServer,
} from './server.test-helper.js';
import { checkEntryName } from './unzip.js';
import { buildZip } from './zip-writer.test-helper.js';

const MAX_TOTAL = 1 << 20;

// One suite over both backends (the owner's folder on disk, objects in a real S3 server).
describe.each(FILES_BACKENDS)('on %s', (backend) => {
  let s: FilesTestServer;

  beforeAll(async () => {
    s = await startFilesServer({ backend, zip: { maxEntries: 20, maxTotalBytes: MAX_TOTAL } });
  });
  afterAll(() => s.close());

  async function uploadZip(target: string, zip: Buffer, unzip = true) {
    const form = multipartBody('file_upload', 'archive.zip', zip);
    const res = await rawRequest(
      s.port,
      'POST',
      `/v1/serverless/files/file/local/${target}?unzip=${unzip}`,
      { authorization: s.keys.alice, ...form.headers },
      form.body,
    );
    return {
      status: res.status,
      body: res.json() as { error?: { type: string; message: string } } | boolean,
    };
  }

  const read = async (rel: string) => (await s.read('alice', rel))?.toString('utf8');
  const exists = (rel: string) => s.exists('alice', rel);
  const leftovers = () => s.leftovers();

  describe('upload with unzip=true', () => {
    it('extracts into the folder the target path names, creating it', async () => {
      const zip = buildZip([
        { name: 'images/' },
        { name: 'images/cat.jpg', data: 'meow' },
        { name: 'readme.md', data: '# dataset' },
      ]);
      const res = await uploadZip('datasets/v1', zip);
      expect(res).toEqual({ status: 200, body: true });
      expect(await read('datasets/v1/images/cat.jpg')).toBe('meow');
      expect(await read('datasets/v1/readme.md')).toBe('# dataset');
      expect(await leftovers()).toEqual([]);
    });

    it('merges into an existing folder, replacing same-named files', async () => {
      await s.seed('alice', 'merge/keep/old.txt', 'old');
      await s.seed('alice', 'merge/replace.txt', 'before');
      const zip = buildZip([
        { name: 'replace.txt', data: 'after' },
        { name: 'keep/new.txt', data: 'new' },
      ]);
      expect((await uploadZip('merge', zip)).status).toBe(200);
      expect(await read('merge/replace.txt')).toBe('after');
      expect(await read('merge/keep/old.txt')).toBe('old');
      expect(await read('merge/keep/new.txt')).toBe('new');
    });

    it('stores a non-ZIP upload as a plain file even with unzip=true', async () => {
      const form = multipartBody('file_upload', 'notes.txt', Buffer.from('plain text'));
      const res = await rawRequest(
        s.port,
        'POST',
        '/v1/serverless/files/file/local/plain/notes.txt?unzip=true',
        { authorization: s.keys.alice, ...form.headers },
        form.body,
      );
      expect(res.status).toBe(200);
      expect(await read('plain/notes.txt')).toBe('plain text');
    });

    it('stores the archive itself when unzip is false', async () => {
      const zip = buildZip([{ name: 'a.txt', data: 'a' }]);
      expect((await uploadZip('raw/archive.zip', zip, false)).status).toBe(200);
      expect(await s.read('alice', 'raw/archive.zip')).toEqual(zip);
    });

    it.each([
      [
        'traversal',
        [
          { name: 'ok.txt', data: 'fine' },
          { name: '../evil.txt', data: 'pwned' },
        ],
      ],
      ['deep traversal', [{ name: 'a/../../evil.txt', data: 'pwned' }]],
      ['absolute path', [{ name: '/tmp/evil.txt', data: 'pwned' }]],
      ['drive letter', [{ name: 'C:/evil.txt', data: 'pwned' }]],
      ['backslash traversal', [{ name: '..\\evil.txt', data: 'pwned' }]],
      ['symlink entry', [{ name: 'link', data: '/etc/passwd', mode: 0o120777 }]],
      ['device entry', [{ name: 'dev', data: '', mode: 0o020644 }]],
      ['reserved name', [{ name: `${TEMP_PREFIX}x`, data: 'x' }]],
    ])('refuses an archive with a %s entry and extracts nothing', async (_label, entries) => {
      const target = `bad-${_label.replace(/\W/g, '-')}`;
      const res = await uploadZip(target, buildZip(entries));
      expect(res.status).toBe(400);
      expect((res.body as { error: { type: string } }).error.type).toBe('validation_error');
      expect(await exists(target)).toBe(false);
      expect(await exists('evil.txt')).toBe(false);
      expect(await s.exists('bob', 'evil.txt')).toBe(false);
      expect(await leftovers()).toEqual([]);
    });

    it('refuses a zip bomb by declared size, by real size and by entry count', async () => {
      const zeros = Buffer.alloc(MAX_TOTAL + 1);
      const honest = await uploadZip('bomb1', buildZip([{ name: 'zeros.bin', data: zeros }]));
      expect(honest.status).toBe(413);
      const lying = await uploadZip(
        'bomb2',
        buildZip([{ name: 'zeros.bin', data: zeros, declaredSize: 10 }]),
      );
      expect([400, 413]).toContain(lying.status);
      const split = Array.from({ length: 3 }, (_, i) => ({
        name: `part${i}.bin`,
        data: Buffer.alloc(MAX_TOTAL / 2),
      }));
      expect((await uploadZip('bomb3', buildZip(split))).status).toBe(413);
      const many = Array.from({ length: 21 }, (_, i) => ({ name: `f${i}.txt`, data: 'x' }));
      expect((await uploadZip('bomb4', buildZip(many))).status).toBe(413);
      for (const dir of ['bomb1', 'bomb2', 'bomb3', 'bomb4']) expect(await exists(dir)).toBe(false);
      expect(await leftovers()).toEqual([]);
    });

    it('refuses a corrupt archive', async () => {
      const zip = buildZip([{ name: 'a.txt', data: 'hello world' }]);
      const res = await uploadZip('corrupt', zip.subarray(0, zip.length - 30));
      expect(res.status).toBe(400);
      expect(await leftovers()).toEqual([]);
    });
  });
});

describe('checkEntryName', () => {
  it('returns segments of safe names', () => {
    expect(checkEntryName('a/b/c.txt')).toEqual(['a', 'b', 'c.txt']);
    expect(checkEntryName('dir/')).toEqual(['dir']);
  });
  it.each(['../x', 'a/../../x', '/abs', 'C:\\x', 'c:/x', 'a\\b', 'a/./b', '.', '', 'a\u0000b'])(
    'refuses %j',
    (name) => {
      expect(() => checkEntryName(name)).toThrow(PlatformError);
    },
  );
});
