import { randomUUID } from 'node:crypto';
import { existsSync, lstatSync, readdirSync, readFileSync, readlinkSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { type FileStore, PlatformError } from '@hangar/core';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { createDiskFileStore } from '../adapters/disk/file-store.js';
import { createS3FileStore } from '../adapters/s3/file-store.js';
import { type S3TestServer, startS3Server } from '../adapters/s3/s3rver.test-helper.js';
import { openTestStores, type TestStores } from '../services/test-stores.js';
import { type BundleStore, createBundleStore } from './bundle-store.js';
import { bytesOf, type RawEntry, tarGz } from './tar-writer.test-helper.js';

const LIMITS = { maxBytes: 64 * 1024, maxUnpackedBytes: 1024 * 1024, maxFiles: 20 };

let t: TestStores;
let root: string;
let store: BundleStore;
let objects: FileStore;
let s3: S3TestServer;
let buckets = 0;

beforeAll(async () => {
  s3 = await startS3Server();
});
afterAll(() => s3.close());
afterEach(() => t.close());

/** Archives go to the object storage: local disk or an S3 bucket (s3rver), each test on a fresh one. */
async function openObjects(backend: 'disk' | 's3'): Promise<FileStore> {
  if (backend === 'disk') return createDiskFileStore(join(t.dir, 'storage'));
  const bucket = await s3.bucket(`bundles-${buckets++}`);
  return createS3FileStore({
    bucket,
    prefix: 'hangar/',
    endpoint: s3.endpoint,
    region: 'us-east-1',
    forcePathStyle: true,
    credentials: s3.credentials,
    requestTimeoutMs: 10_000,
    maxAttempts: 2,
  });
}

async function storedArchives(): Promise<string[]> {
  const keys: string[] = [];
  for await (const o of objects.list('bundles/')) keys.push(o.key);
  return keys;
}

async function refusal(p: Promise<unknown>): Promise<PlatformError> {
  const err = await p.then(
    () => null,
    (e: unknown) => e,
  );
  if (!(err instanceof PlatformError)) throw new Error(`expected a PlatformError, got ${String(err)}`);
  return err;
}

/** Every file and folder under the bundles root, relative to it. */
function listing(dir = root, rel = ''): string[] {
  if (!existsSync(dir)) return [];
  return readdirSync(dir).flatMap((name) => {
    const path = rel ? `${rel}/${name}` : name;
    const abs = join(dir, name);
    return lstatSync(abs).isDirectory() ? [`${path}/`, ...listing(abs, path)] : [path];
  });
}

const APP: RawEntry[] = [
  { path: 'hangar.json', body: '{"name":"echo"}' },
  { path: 'bin/', type: 'Directory', mode: 0o700 },
  { path: 'bin/run', body: '#!/bin/sh\n', mode: 0o4775 },
  { path: 'bin/data.txt', body: 'x', mode: 0o600 },
  { path: 'bin/link', type: 'SymbolicLink', linkpath: '../hangar.json' },
];

describe.each(['disk', 's3'] as const)('bundle store, archives on %s', (backend) => {
  beforeEach(async () => {
    t = openTestStores();
    root = join(t.dir, 'bundles');
    objects = await openObjects(backend);
    store = createBundleStore({ root, objects, limits: LIMITS, apps: t.stores.apps, clock: () => 1_000 });
  });

  it('stores a bundle once by digest, unpacked with normalised modes, and records it per owner', async () => {
    const bytes = tarGz(APP);
    const first = await store.put('alice', bytesOf(bytes));
    expect(first).toMatchObject({ owner: 'alice', digest: expect.stringMatching(/^sha256:[0-9a-f]{64}$/) });
    expect(first.created).toBe(true);
    const again = await store.put('alice', bytesOf(bytes));
    expect(again).toEqual({ ...first, created: false });
    const other = await store.put('bob', bytesOf(bytes));
    expect(other).toMatchObject({ owner: 'bob', digest: first.digest, created: true });

    const hex = first.digest.slice(7);
    expect(await storedArchives()).toEqual([`bundles/${hex}.tar.gz`]);
    expect(readdirSync(join(root, 'trees'))).toEqual([hex]);
    expect(readdirSync(join(root, 'tmp'))).toEqual([]);
    const tree = await store.treeDir(first.digest);
    expect(tree).toBe(join(root, 'trees', hex));
    expect(readFileSync(join(tree, 'hangar.json'), 'utf8')).toBe('{"name":"echo"}');
    const mode = (p: string) => statSync(join(tree, p)).mode & 0o7777;
    expect([mode('.'), mode('bin'), mode('bin/run'), mode('bin/data.txt')]).toEqual([
      0o755, 0o755, 0o755, 0o644,
    ]);
    expect(readlinkSync(join(tree, 'bin/link'))).toBe('../hangar.json');
  });

  it('answers a digest only to an owner that uploaded it', async () => {
    const { digest } = await store.put('alice', bytesOf(tarGz(APP)));
    expect(await store.get('alice', digest)).toMatchObject({ owner: 'alice', digest });
    expect(await store.get('bob', digest)).toBeNull();
    expect(await store.get('bob', `sha256:${'0'.repeat(64)}`)).toBeNull();
    expect(await store.get('alice', 'sha256:../../etc')).toBeNull();
  });

  it('keeps one copy when the same bundle is uploaded concurrently', async () => {
    const bytes = tarGz(APP);
    const all = await Promise.all(['a', 'b', 'c', 'a'].map((o) => store.put(o, bytesOf(bytes))));
    expect(new Set(all.map((b) => b.digest)).size).toBe(1);
    expect(await storedArchives()).toHaveLength(1);
    expect(readdirSync(join(root, 'trees'))).toHaveLength(1);
    expect(readdirSync(join(root, 'tmp'))).toEqual([]);
  });

  it('unpacks a missing tree again from its archive', async () => {
    const { digest } = await store.put('alice', bytesOf(tarGz(APP)));
    const tree = await store.treeDir(digest);
    const { rmSync } = await import('node:fs');
    rmSync(tree, { recursive: true });
    expect(readFileSync(join(await store.treeDir(digest), 'bin/data.txt'), 'utf8')).toBe('x');
  });

  it('gives another node, with its own empty disk, the tree from the shared archive', async () => {
    const { digest } = await store.put('alice', bytesOf(tarGz(APP)));
    const otherRoot = join(t.dir, 'node-2', 'bundles');
    const other = createBundleStore({
      root: otherRoot,
      objects,
      limits: LIMITS,
      apps: t.stores.apps,
      clock: () => 1,
    });
    expect(await other.get('alice', digest)).toMatchObject({ digest });
    const tree = await other.treeDir(digest);
    expect(tree.startsWith(otherRoot)).toBe(true);
    expect(readFileSync(join(tree, 'hangar.json'), 'utf8')).toBe('{"name":"echo"}');
    expect(readdirSync(join(otherRoot, 'tmp'))).toEqual([]);
  });

  it('moves an archive an older version left on this disk into the object storage', async () => {
    const bytes = tarGz(APP);
    const { digest } = await store.put('alice', bytesOf(bytes));
    const hex = digest.slice(7);
    await objects.delete(`bundles/${hex}.tar.gz`);
    const { mkdirSync, writeFileSync, rmSync } = await import('node:fs');
    rmSync(join(root, 'trees', hex), { recursive: true });
    mkdirSync(join(root, 'archives'), { recursive: true });
    writeFileSync(join(root, 'archives', `${hex}.tar.gz`), bytes);
    expect(await store.get('alice', digest)).toMatchObject({ digest });
    expect(await storedArchives()).toEqual([`bundles/${hex}.tar.gz`]);
    expect(existsSync(join(root, 'archives', `${hex}.tar.gz`))).toBe(false);
    expect(readFileSync(join(await store.treeDir(digest), 'bin/data.txt'), 'utf8')).toBe('x');
  });

  const outside = join('/tmp', `hangar-escape-${randomUUID()}`);
  const hostile: [string, RawEntry[], string, RegExp][] = [
    ['a traversal path', [{ path: '../x', body: 'x' }], 'BUNDLE_INVALID', /"\.\.\/x" leaves the bundle/],
    ['a deep traversal path', [{ path: 'a/../../x', body: 'x' }], 'BUNDLE_INVALID', /leaves the bundle/],
    ['an absolute path', [{ path: outside, body: 'x' }], 'BUNDLE_INVALID', /is an absolute path/],
    [
      'a symlink out',
      [{ path: 'out', type: 'SymbolicLink', linkpath: '../../..' }],
      'BUNDLE_INVALID',
      /symlink "out" points outside the bundle/,
    ],
    [
      'an absolute symlink',
      [{ path: 'etc', type: 'SymbolicLink', linkpath: '/etc' }],
      'BUNDLE_INVALID',
      /symlink "etc" points outside/,
    ],
    [
      'a symlink out through another symlink',
      [
        { path: 'a', type: 'SymbolicLink', linkpath: '.' },
        { path: 'x', type: 'SymbolicLink', linkpath: 'a/..' },
      ],
      'BUNDLE_INVALID',
      /symlink "x" points outside the bundle or to nothing/,
    ],
    [
      'a file written through a symlink',
      [
        { path: 'sub/', type: 'Directory' },
        { path: 'via', type: 'SymbolicLink', linkpath: 'sub' },
        { path: 'via/f', body: 'x' },
      ],
      'BUNDLE_INVALID',
      /"via\/f" lies under a symlink/,
    ],
    [
      'a hard link',
      [
        { path: 'f', body: 'x' },
        { path: 'h', type: 'Link', linkpath: 'f' },
      ],
      'BUNDLE_INVALID',
      /"h" is a hard link/,
    ],
    ['a character device', [{ path: 'null', type: 'CharacterDevice' }], 'BUNDLE_INVALID', /character device/],
    ['a block device', [{ path: 'sda', type: 'BlockDevice' }], 'BUNDLE_INVALID', /block device/],
    ['a FIFO', [{ path: 'pipe', type: 'FIFO' }], 'BUNDLE_INVALID', /"pipe" is a FIFO/],
    [
      'a duplicate entry',
      [
        { path: 'f', body: 'x' },
        { path: './f', body: 'y' },
      ],
      'BUNDLE_INVALID',
      /appears twice/,
    ],
    [
      'too many bytes unpacked',
      [{ path: 'zeros', body: Buffer.alloc(LIMITS.maxUnpackedBytes + 1) }],
      'BUNDLE_TOO_LARGE',
      /unpacks to more than/,
    ],
    [
      'too many files',
      Array.from({ length: LIMITS.maxFiles + 1 }, (_, i) => ({ path: `f${i}`, body: 'x' })),
      'BUNDLE_TOO_LARGE',
      /unpacks to more than/,
    ],
  ];

  for (const [what, entries, code, message] of hostile) {
    it(`refuses ${what} and leaves nothing on disk`, async () => {
      const bytes = tarGz([{ path: 'hangar.json', body: '{}' }, ...entries]);
      const err = await refusal(store.put('alice', bytesOf(bytes)));
      expect(err.code).toBe(code);
      expect(err.message).toMatch(message);
      expect(err.message).not.toContain(t.dir);
      expect(listing()).toEqual(['tmp/', 'trees/']);
      expect(await storedArchives()).toEqual([]);
      expect(existsSync(outside)).toBe(false);
      expect(existsSync(join(t.dir, 'x'))).toBe(false);
      expect(await t.stores.apps.getBundle('alice', `sha256:${'0'.repeat(64)}`)).toBeNull();
    });
  }

  it('refuses an upload over the compressed cap while streaming, and bytes that are not a gzip tar', async () => {
    const big = Buffer.alloc(LIMITS.maxBytes + 1, 7);
    const tooBig = await refusal(store.put('alice', bytesOf(big)));
    expect(tooBig.code).toBe('BUNDLE_TOO_LARGE');
    expect(tooBig.status).toBe(413);
    expect(tooBig.message).toContain('limits.max_bundle_bytes');
    const declared = await refusal(store.put('alice', bytesOf(Buffer.from('x')), LIMITS.maxBytes + 1));
    expect(declared.code).toBe('BUNDLE_TOO_LARGE');
    for (const junk of [Buffer.from('not gzip at all'), Buffer.alloc(0)]) {
      expect((await refusal(store.put('alice', bytesOf(junk)))).code).toBe('BUNDLE_INVALID');
    }
    const { gzipSync } = await import('node:zlib');
    const nested = await refusal(store.put('alice', bytesOf(gzipSync(tarGz(APP)))));
    expect(nested.message).toMatch(/nested compression/);
    expect(listing()).toEqual(['tmp/', 'trees/']);
    expect(await storedArchives()).toEqual([]);
  });
});
