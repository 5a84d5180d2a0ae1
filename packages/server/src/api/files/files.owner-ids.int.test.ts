import { lstatSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type FilesTestServer, multipartBody, rawRequest, startFilesServer } from './server.test-helper.js';
import { buildZip } from './zip-writer.test-helper.js';

// Files the API creates for an owner whose runners run as their own uid must belong to that uid.
const IDS = { uid: 4242, gid: 4243 };
const asRoot = process.getuid?.() === 0;
let s: FilesTestServer;

beforeAll(async () => {
  s = await startFilesServer({ ownerIds: (owner) => (owner === 'alice' ? IDS : null) });
});
afterAll(() => s.close());

function upload(who: 'alice' | 'bob', path: string, content: Buffer, query = '') {
  const form = multipartBody('file_upload', 'x', content);
  return rawRequest(
    s.port,
    'POST',
    `/v1/serverless/files/file/local/${path}${query}`,
    { authorization: s.keys[who], ...form.headers },
    form.body,
  );
}

const owner = (who: string, rel: string) => {
  const info = lstatSync(join(s.rootOf(who), rel));
  return { uid: info.uid, gid: info.gid };
};

describe.runIf(asRoot)('ownerIds', () => {
  it("gives every folder and file created for the owner to the owner's ids", async () => {
    expect((await upload('alice', 'deep/dir/f.txt', Buffer.from('x'))).status).toBe(200);
    const zip = buildZip([{ name: 'a/' }, { name: 'a/b/c.txt', data: 'c' }]);
    expect((await upload('alice', 'unzipped', zip, '?unzip=true')).status).toBe(200);
    const move = await rawRequest(
      s.port,
      'POST',
      '/v1/serverless/files/move/deep/dir/f.txt',
      { authorization: s.keys.alice, 'content-type': 'application/json' },
      JSON.stringify({ destination: 'new/place/f.txt' }),
    );
    expect(move.status).toBe(200);
    for (const rel of [
      '',
      'deep',
      'deep/dir',
      'unzipped',
      'unzipped/a',
      'unzipped/a/b',
      'unzipped/a/b/c.txt',
      'new',
      'new/place',
      'new/place/f.txt',
    ]) {
      expect(owner('alice', rel), rel || 'root').toEqual(IDS);
    }
  });

  it('changes nothing for an owner the hook answers null for', async () => {
    expect((await upload('bob', 'x/y.txt', Buffer.from('y'))).status).toBe(200);
    for (const rel of ['', 'x', 'x/y.txt']) expect(owner('bob', rel)).toEqual({ uid: 0, gid: 0 });
  });
});
