import { execFileSync } from 'node:child_process';
import {
  closeSync,
  existsSync,
  mkdirSync,
  mkdtempSync,
  openSync,
  readFileSync,
  rmSync,
  symlinkSync,
  unlinkSync,
  writeFileSync,
  writeSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { type FileStore, isOpened } from '@hangar/core';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { createS3FileStore } from '../adapters/s3/file-store.js';
import { type S3TestServer, startS3Server } from '../adapters/s3/s3rver.test-helper.js';
import { createOwnerSync, type OwnerSync, type OwnerSyncDeps } from './owner-sync.js';

let s3: S3TestServer;
let objects: FileStore;
let bucketSeq = 0;
const homes: string[] = [];
const syncs: OwnerSync[] = [];

beforeAll(async () => {
  s3 = await startS3Server();
});
afterAll(() => s3.close());
afterEach(async () => {
  for (const s of syncs.splice(0)) await s.close();
  for (const h of homes.splice(0)) rmSync(h, { recursive: true, force: true });
});

async function freshStore(): Promise<FileStore> {
  return createS3FileStore({
    bucket: await s3.bucket(`owner-sync-${++bucketSeq}`),
    prefix: 'hangar/',
    endpoint: s3.endpoint,
    region: 'us-east-1',
    forcePathStyle: true,
    credentials: s3.credentials,
    requestTimeoutMs: 500,
    maxAttempts: 1,
  });
}

interface Bed {
  sync: OwnerSync;
  cache: string;
  warnings: Array<Record<string, unknown>>;
}

function bed(over: Partial<OwnerSyncDeps> = {}): Bed {
  const cache = mkdtempSync(join(tmpdir(), 'hangar-cache-'));
  homes.push(cache);
  const warnings: Array<Record<string, unknown>> = [];
  const sync = createOwnerSync({
    objects,
    cacheRoot: cache,
    limitsFor: () => ({ bytes: 1024 * 1024, files: 1000 }),
    intervalMs: 60_000,
    logger: { info() {}, warn: (obj) => warnings.push(obj as Record<string, unknown>) },
    ...over,
  });
  syncs.push(sync);
  return { sync, cache, warnings };
}

async function put(key: string, text: string): Promise<string> {
  const info = await objects.put(
    key,
    (async function* () {
      yield Buffer.from(text);
    })(),
    {},
  );
  return info.etag;
}

async function read(key: string): Promise<string | null> {
  const opened = await objects.open(key);
  if (!isOpened(opened)) return null;
  const chunks: Buffer[] = [];
  for await (const c of opened.body) chunks.push(Buffer.from(c));
  return Buffer.concat(chunks).toString();
}

describe('runner cache sync with S3 storage', () => {
  beforeAll(async () => {
    objects = await freshStore();
  });

  it('brings the owner files into the cache before a runner starts, and only that owner', async () => {
    await put('files/acme/models/weights.bin', 'acme-weights');
    await put('files/acme/readme.txt', 'hello');
    await put('files/rival/secret.txt', 'rival-only');
    const { sync } = bed();
    const dir = await sync.acquire('acme');
    expect(dir).toBe(sync.dataDir('acme'));
    expect(readFileSync(join(dir, 'models', 'weights.bin'), 'utf8')).toBe('acme-weights');
    expect(readFileSync(join(dir, 'readme.txt'), 'utf8')).toBe('hello');
    expect(existsSync(join(dir, 'secret.txt'))).toBe(false);
    const rival = await sync.acquire('rival');
    expect(readFileSync(join(rival, 'secret.txt'), 'utf8')).toBe('rival-only');
    expect(existsSync(join(rival, 'readme.txt'))).toBe(false);
    // A file written to one owner's cache is published under that owner's prefix only.
    writeFileSync(join(rival, 'made.txt'), 'by rival');
    await sync.sync('rival', { final: true });
    expect(await read('files/rival/made.txt')).toBe('by rival');
    expect(await read('files/acme/made.txt')).toBeNull();
    sync.release('acme');
    sync.release('rival');
  });

  it("makes the Files API's empty-folder markers folders, and never publishes reserved names", async () => {
    await put('files/marks/empty/.hangar-tmp-folder', '');
    await put('files/marks/inflight/.hangar-tmp-upload-1', 'partial');
    const { sync } = bed();
    const dir = await sync.acquire('marks');
    expect(existsSync(join(dir, 'empty'))).toBe(true);
    expect(existsSync(join(dir, 'empty', '.hangar-tmp-folder'))).toBe(false);
    expect(existsSync(join(dir, 'inflight', '.hangar-tmp-upload-1'))).toBe(false);
    writeFileSync(join(dir, '.hangar-tmp-mine'), 'reserved');
    writeFileSync(join(dir, 'kept.txt'), 'kept');
    await sync.sync('marks', { final: true });
    expect(await read('files/marks/kept.txt')).toBe('kept');
    expect(await read('files/marks/.hangar-tmp-mine')).toBeNull();
    expect(await read('files/marks/empty/.hangar-tmp-folder')).toBe('');
    sync.release('marks');
  });

  it('syncs once for runners starting together', async () => {
    let listings = 0;
    const counted: FileStore = {
      ...objects,
      kind: objects.kind,
      listPage: (opts) => {
        listings++;
        return objects.listPage(opts);
      },
    };
    const { sync } = bed({ objects: counted });
    await Promise.all([sync.acquire('solo'), sync.acquire('solo')]);
    expect(listings).toBe(1);
    await sync.sync('solo');
    expect(listings).toBe(2);
  });

  it('publishes a written file once it stayed unchanged between two walks, never while it is written', async () => {
    const { sync } = bed();
    const dir = await sync.acquire('writer');
    const fd = openSync(join(dir, 'out.bin'), 'w');
    writeSync(fd, 'first half;');
    expect((await sync.sync('writer')).uploaded).toEqual([]);
    writeSync(fd, 'second half');
    expect((await sync.sync('writer')).uploaded).toEqual([]);
    expect(await objects.head('files/writer/out.bin')).toBeNull();
    closeSync(fd);
    expect((await sync.sync('writer')).uploaded).toEqual(['out.bin']);
    expect(await read('files/writer/out.bin')).toBe('first half;second half');
    // Unchanged since: nothing more is sent.
    expect((await sync.sync('writer')).uploaded).toEqual([]);
  });

  it('publishes every change at once when the last runner of the owner stops', async () => {
    const { sync } = bed();
    const dir = await sync.acquire('stopper');
    await sync.acquire('stopper');
    writeFileSync(join(dir, 'late.txt'), 'written just before the stop');
    sync.release('stopper');
    // Another runner of the owner still runs: the file waits to be stable.
    expect((await sync.sync('stopper')).uploaded).toEqual([]);
    sync.release('stopper');
    await sync.close();
    expect(await read('files/stopper/late.txt')).toBe('written just before the stop');
  });

  it('applies deletions both ways, and a newer version wins over a stale deletion', async () => {
    await put('files/del/by-store.txt', 'a');
    await put('files/del/by-runner.txt', 'b');
    await put('files/del/raced.txt', 'c1');
    const { sync } = bed();
    const dir = await sync.acquire('del');
    await objects.delete('files/del/by-store.txt');
    unlinkSync(join(dir, 'by-runner.txt'));
    unlinkSync(join(dir, 'raced.txt'));
    await put('files/del/raced.txt', 'c2, newer');
    const report = await sync.sync('del');
    expect(report.removedLocal).toEqual(['by-store.txt']);
    expect(report.removedRemote).toEqual(['by-runner.txt']);
    expect(existsSync(join(dir, 'by-store.txt'))).toBe(false);
    expect(await objects.head('files/del/by-runner.txt')).toBeNull();
    expect(readFileSync(join(dir, 'raced.txt'), 'utf8')).toBe('c2, newer');
  });

  it('takes new versions from the store, but a local change is published over them (last writer wins)', async () => {
    await put('files/lww/kept.txt', 'v1');
    await put('files/lww/both.txt', 'v1');
    const { sync } = bed();
    const dir = await sync.acquire('lww');
    await put('files/lww/kept.txt', 'v2 from the API');
    await put('files/lww/both.txt', 'v2 from the API');
    writeFileSync(join(dir, 'both.txt'), 'v3 from the runner');
    const first = await sync.sync('lww');
    expect(first.downloaded).toEqual(['kept.txt']);
    expect(readFileSync(join(dir, 'kept.txt'), 'utf8')).toBe('v2 from the API');
    await sync.sync('lww');
    expect(await read('files/lww/both.txt')).toBe('v3 from the runner');
    expect(readFileSync(join(dir, 'both.txt'), 'utf8')).toBe('v3 from the runner');
  });

  it('never follows or publishes links, FIFOs or what they point at', async () => {
    const { sync } = bed();
    const rival = await sync.acquire('rival2');
    writeFileSync(join(rival, 'private.txt'), 'rival private');
    await sync.sync('rival2', { final: true });
    const dir = await sync.acquire('linker');
    symlinkSync('/etc/passwd', join(dir, 'passwd'));
    symlinkSync('/etc', join(dir, 'etc'));
    symlinkSync(rival, join(dir, 'rival'));
    symlinkSync(join(rival, 'private.txt'), join(dir, 'rival.txt'));
    mkdirSync(join(dir, 'sub'));
    symlinkSync('../../rival2', join(dir, 'sub', 'up'));
    execFileSync('mkfifo', [join(dir, 'pipe')]);
    writeFileSync(join(dir, 'real.txt'), 'mine');
    const report = await sync.sync('linker', { final: true });
    expect(report.uploaded).toEqual(['real.txt']);
    const keys: string[] = [];
    for await (const o of objects.list('files/linker/')) keys.push(o.key);
    expect(keys).toEqual(['files/linker/real.txt']);
    // Deleting the links locally deletes nothing in the store either.
    expect((await sync.sync('linker')).removedRemote).toEqual([]);
    expect(await read('files/rival2/private.txt')).toBe('rival private');
  });

  it('does not publish past the owner quota, and says why once', async () => {
    const { sync, warnings } = bed({ limitsFor: () => ({ bytes: 16, files: 2 }) });
    await put('files/quota/existing.txt', '12345678');
    const dir = await sync.acquire('quota');
    writeFileSync(join(dir, 'big.bin'), 'x'.repeat(9));
    const report = await sync.sync('quota', { final: true });
    expect(report.refused).toEqual([{ path: 'big.bin', reason: expect.stringMatching(/quota exceeded/) }]);
    expect(await objects.head('files/quota/big.bin')).toBeNull();
    expect(existsSync(join(dir, 'big.bin'))).toBe(true);
    await sync.sync('quota', { final: true });
    expect(warnings.filter((w) => w['path'] === 'big.bin')).toHaveLength(1);
    // Within the quota it goes through; a third file is past the file count.
    writeFileSync(join(dir, 'big.bin'), 'x'.repeat(8));
    writeFileSync(join(dir, 'third.txt'), '');
    const next = await sync.sync('quota', { final: true });
    expect(next.uploaded).toEqual(['big.bin']);
    expect(next.refused).toEqual([{ path: 'third.txt', reason: expect.stringMatching(/2 files allowed/) }]);
  });

  it('keeps what the runner wrote through a store outage and publishes it afterwards', async () => {
    const { sync, warnings } = bed();
    const dir = await sync.acquire('outage');
    writeFileSync(join(dir, 'result.txt'), 'precious');
    s3.freeze();
    let report: Awaited<ReturnType<OwnerSync['sync']>>;
    try {
      report = await sync.sync('outage', { final: true });
    } finally {
      s3.thaw();
    }
    expect(report.failed).toBe('object storage unavailable');
    expect(warnings.some((w) => w['owner'] === 'outage')).toBe(true);
    expect(readFileSync(join(dir, 'result.txt'), 'utf8')).toBe('precious');
    const after = await sync.sync('outage', { final: true });
    expect(after.failed).toBeNull();
    expect(await read('files/outage/result.txt')).toBe('precious');
  });

  it('remembers what it synced across a restart (the manifest), so nothing is sent twice', async () => {
    await put('files/again/a.txt', 'a');
    const first = bed();
    const dir = await first.sync.acquire('again');
    writeFileSync(join(dir, 'b.txt'), 'b');
    first.sync.release('again');
    await first.sync.close();
    const second = createOwnerSync({
      objects,
      cacheRoot: first.cache,
      limitsFor: () => ({ bytes: 1024, files: 10 }),
      intervalMs: 60_000,
      logger: { info() {}, warn() {} },
    });
    syncs.push(second);
    const report = await second.sync('again', { final: true });
    expect(report).toMatchObject({ downloaded: [], uploaded: [], removedLocal: [], removedRemote: [] });
    expect(await read('files/again/b.txt')).toBe('b');
  });

  it('treats a removed cache folder as a new cache: fetched again, nothing deleted in the store', async () => {
    await put('files/wiped/keep.txt', 'still here');
    const { sync } = bed();
    const dir = await sync.acquire('wiped');
    sync.release('wiped');
    await sync.sync('wiped');
    rmSync(dir, { recursive: true });
    const report = await sync.sync('wiped');
    expect(report.removedRemote).toEqual([]);
    expect(report.downloaded).toEqual(['keep.txt']);
    expect(readFileSync(join(dir, 'keep.txt'), 'utf8')).toBe('still here');
  });
});
