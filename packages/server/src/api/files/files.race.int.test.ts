import { type ChildProcess, spawn } from 'node:child_process';
import { existsSync, mkdirSync, readdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { TEMP_PREFIX } from './safe-path.js';
import { type FilesTestServer, multipartBody, rawRequest, startFilesServer } from './server.test-helper.js';
import { buildZip } from './zip-writer.test-helper.js';

// A runner's trick, replayed: a separate process keeps swapping `race/` in the owner's tree between a
// real folder and a link to a folder outside it, while concurrent clients write through the real API.

let s: FilesTestServer;
let outside: string;
let swapper: ChildProcess;

const SWAP = `
const fs = require('node:fs');
const [root, outside] = process.argv.slice(1);
const race = root + '/race', parked = root + '/race-parked';
process.on('SIGTERM', () => process.exit(0));
(function loop() {
  for (let i = 0; i < 50; i++) {
    try { fs.renameSync(race, parked); } catch {}
    try { fs.symlinkSync(outside, race); } catch {}
    try { fs.unlinkSync(race); } catch {}
    try { fs.renameSync(parked, race); } catch {}
  }
  setImmediate(loop);
})();
`;

beforeAll(async () => {
  s = await startFilesServer();
  outside = join(s.dataDir, '..', 'outside');
  mkdirSync(outside);
  writeFileSync(join(outside, 'keep.txt'), 'not yours');
  mkdirSync(join(s.rootOf('alice'), 'race/sub'), { recursive: true });
  swapper = spawn(process.execPath, ['-e', SWAP, s.rootOf('alice'), outside], { stdio: 'ignore' });
});
afterAll(async () => {
  if (swapper.exitCode === null) swapper.kill('SIGTERM');
  await s.close();
});

async function client(id: number, statuses: number[]): Promise<void> {
  const auth = { authorization: s.keys.alice };
  const json = { ...auth, 'content-type': 'application/json' };
  for (let i = 0; i < 12; i++) {
    const name = `race/sub/c${id}-${i}.txt`;
    const form = multipartBody('file_upload', 'x', Buffer.from(`client ${id} file ${i}`));
    const up = await rawRequest(
      s.port,
      'POST',
      `/v1/serverless/files/file/local/${name}`,
      { ...auth, ...form.headers },
      form.body,
    );
    const zip = multipartBody(
      'file_upload',
      'x.zip',
      buildZip([{ name: `z${id}/${i}.txt`, data: 'zipped' }]),
    );
    const unzip = await rawRequest(
      s.port,
      'POST',
      '/v1/serverless/files/file/local/race/unzipped?unzip=true',
      { ...auth, ...zip.headers },
      zip.body,
    );
    const move = await rawRequest(
      s.port,
      'POST',
      `/v1/serverless/files/move/${name}`,
      json,
      JSON.stringify({ destination: `race/moved/c${id}-${i}.txt` }),
    );
    const list = await rawRequest(s.port, 'GET', '/v1/serverless/files/list/race', auth);
    const read = await rawRequest(s.port, 'GET', '/v1/serverless/files/file/race/keep.txt', auth);
    const del = await rawRequest(
      s.port,
      'DELETE',
      `/v1/serverless/files/file/race/moved/c${id}-${i}.txt`,
      auth,
    );
    statuses.push(up.status, unzip.status, move.status, list.status, read.status, del.status);
  }
}

describe('a folder swapped for a link outside the root while clients write', () => {
  it('never writes, reads or deletes outside the root, and never answers 5xx', async () => {
    const statuses: number[] = [];
    await Promise.all(Array.from({ length: 8 }, (_, id) => client(id, statuses)));
    swapper.kill('SIGTERM');
    await new Promise((resolve) => swapper.once('exit', resolve));

    expect(statuses.length).toBe(8 * 12 * 6);
    expect(statuses.filter((status) => status >= 500)).toEqual([]);
    expect(statuses).toContain(200);
    expect(readdirSync(outside)).toEqual(['keep.txt']);
    const everywhere = readdirSync(join(s.dataDir, '..'), { recursive: true, encoding: 'utf8' });
    expect(everywhere.filter((p) => p.split('/').some((n) => n.startsWith(TEMP_PREFIX)))).toEqual([]);
    expect(existsSync(join(outside, 'sub'))).toBe(false);
  });
});
