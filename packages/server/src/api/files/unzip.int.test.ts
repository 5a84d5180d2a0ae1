import { existsSync, mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { PlatformError } from '@hangar/core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { TEMP_PREFIX } from './safe-path.js';
import { type FilesTestServer, multipartBody, rawRequest, startFilesServer } from './server.test-helper.js';
import { checkEntryName } from './unzip.js';
import { buildZip } from './zip-writer.test-helper.js';

let s: FilesTestServer;
const MAX_TOTAL = 1 << 20;

beforeAll(async () => {
  s = await startFilesServer({ zip: { maxEntries: 20, maxTotalBytes: MAX_TOTAL } });
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
  return { status: res.status, body: res.json() as { error?: { type: string; message: string } } | boolean };
}

const root = () => s.rootOf('alice');
const leftovers = () => readdirSync(root()).filter((n) => n.startsWith(TEMP_PREFIX));

describe('upload with unzip=true', () => {
  it('extracts into the folder the target path names, creating it', async () => {
    const zip = buildZip([
      { name: 'images/' },
      { name: 'images/cat.jpg', data: 'meow' },
      { name: 'readme.md', data: '# dataset' },
    ]);
    const res = await uploadZip('datasets/v1', zip);
    expect(res).toEqual({ status: 200, body: true });
    expect(readFileSync(join(root(), 'datasets/v1/images/cat.jpg'), 'utf8')).toBe('meow');
    expect(readFileSync(join(root(), 'datasets/v1/readme.md'), 'utf8')).toBe('# dataset');
    expect(leftovers()).toEqual([]);
  });

  it('merges into an existing folder, replacing same-named files', async () => {
    mkdirSync(join(root(), 'merge/keep'), { recursive: true });
    writeFileSync(join(root(), 'merge/keep/old.txt'), 'old');
    writeFileSync(join(root(), 'merge/replace.txt'), 'before');
    const zip = buildZip([
      { name: 'replace.txt', data: 'after' },
      { name: 'keep/new.txt', data: 'new' },
    ]);
    expect((await uploadZip('merge', zip)).status).toBe(200);
    expect(readFileSync(join(root(), 'merge/replace.txt'), 'utf8')).toBe('after');
    expect(readFileSync(join(root(), 'merge/keep/old.txt'), 'utf8')).toBe('old');
    expect(readFileSync(join(root(), 'merge/keep/new.txt'), 'utf8')).toBe('new');
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
    expect(readFileSync(join(root(), 'plain/notes.txt'), 'utf8')).toBe('plain text');
  });

  it('stores the archive itself when unzip is false', async () => {
    const zip = buildZip([{ name: 'a.txt', data: 'a' }]);
    expect((await uploadZip('raw/archive.zip', zip, false)).status).toBe(200);
    expect(readFileSync(join(root(), 'raw/archive.zip'))).toEqual(zip);
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
    expect(existsSync(join(root(), target))).toBe(false);
    expect(existsSync(join(root(), 'evil.txt'))).toBe(false);
    expect(existsSync(join(s.dataDir, 'evil.txt'))).toBe(false);
    expect(leftovers()).toEqual([]);
  });

  it('refuses a zip bomb by declared size, by real size and by entry count', async () => {
    const zeros = Buffer.alloc(MAX_TOTAL + 1);
    const honest = await uploadZip('bomb1', buildZip([{ name: 'zeros.bin', data: zeros }]));
    expect(honest.status).toBe(413);
    const lying = await uploadZip('bomb2', buildZip([{ name: 'zeros.bin', data: zeros, declaredSize: 10 }]));
    expect([400, 413]).toContain(lying.status);
    const split = Array.from({ length: 3 }, (_, i) => ({
      name: `part${i}.bin`,
      data: Buffer.alloc(MAX_TOTAL / 2),
    }));
    expect((await uploadZip('bomb3', buildZip(split))).status).toBe(413);
    const many = Array.from({ length: 21 }, (_, i) => ({ name: `f${i}.txt`, data: 'x' }));
    expect((await uploadZip('bomb4', buildZip(many))).status).toBe(413);
    for (const dir of ['bomb1', 'bomb2', 'bomb3', 'bomb4']) expect(existsSync(join(root(), dir))).toBe(false);
    expect(leftovers()).toEqual([]);
  });

  it('refuses a corrupt archive', async () => {
    const zip = buildZip([{ name: 'a.txt', data: 'hello world' }]);
    const res = await uploadZip('corrupt', zip.subarray(0, zip.length - 30));
    expect(res.status).toBe(400);
    expect(leftovers()).toEqual([]);
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
