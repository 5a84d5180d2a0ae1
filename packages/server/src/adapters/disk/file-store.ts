import { createHash, randomUUID } from 'node:crypto';
import type { Dirent } from 'node:fs';
import { type FileHandle, link, mkdir, open, readdir, rename, rm, unlink } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import {
  type FileStore,
  isKeyPrefix,
  isObjectKey,
  type ListPage,
  type ObjectInfo,
  type ObjectMeta,
  type OpenedObject,
  type ReadOptions,
  StoreConflict,
  type StoreListOptions,
  type UnmetCondition,
  type WriteOptions,
} from '@hangar/core';
import { compareKeys } from '../../storage/keys.js';

/** Length of the trailer's length field, bytes. */
const LENGTH_BYTES = 4;
const MAX_TRAILER_BYTES = 64 * 1024;
const MAX_PAGE = 1000;

interface Trailer {
  bytes: number;
  etag: string;
  meta: Record<string, string>;
}

/**
 * Objects as files under `root/objects`: the bytes, then a JSON trailer (size, md5, metadata) and its
 * length, so an object and its metadata land together with one rename and a reader never sees half of
 * either. Work files go to `root/tmp` (same file system) and are removed when a write fails. Keys map
 * to paths one segment per folder; the key rules (`isObjectKey`) keep every path inside `objects`.
 */
export function createDiskFileStore(root: string): FileStore {
  const objects = join(root, 'objects');
  const tmp = join(root, 'tmp');
  let ready: Promise<unknown> | null = null;
  const layout = () =>
    (ready ??= Promise.all([objects, tmp].map((d) => mkdir(d, { recursive: true, mode: 0o700 }))));
  const pathOf = (key: string) => {
    if (!isObjectKey(key)) throw new Error('invalid object key');
    return join(objects, ...key.split('/'));
  };

  async function readTrailer(fh: FileHandle, key: string): Promise<ObjectInfo | null> {
    const stat = await fh.stat();
    const size = stat.size;
    if (!stat.isFile() || size < LENGTH_BYTES) return null;
    const len = Buffer.alloc(LENGTH_BYTES);
    await fh.read(len, 0, LENGTH_BYTES, size - LENGTH_BYTES);
    const trailerBytes = len.readUInt32BE(0);
    if (trailerBytes > MAX_TRAILER_BYTES || trailerBytes + LENGTH_BYTES > size) return null;
    const buf = Buffer.alloc(trailerBytes);
    await fh.read(buf, 0, trailerBytes, size - LENGTH_BYTES - trailerBytes);
    const t = JSON.parse(buf.toString('utf8')) as Trailer;
    if (t.bytes !== size - LENGTH_BYTES - trailerBytes) return null;
    return { key, bytes: t.bytes, etag: t.etag, modifiedAt: Math.floor(stat.mtimeMs), meta: t.meta };
  }

  async function openFile(key: string): Promise<FileHandle | null> {
    try {
      return await open(pathOf(key), 'r');
    } catch (err) {
      if (isMissing(err) || isDirectory(err)) return null;
      throw err;
    }
  }

  async function head(key: string): Promise<ObjectInfo | null> {
    const fh = await openFile(key);
    if (!fh) return null;
    try {
      return await readTrailer(fh, key);
    } catch (err) {
      if (isDirectory(err)) return null;
      throw err;
    } finally {
      await fh.close();
    }
  }

  /** Writes a work file; `commit` puts it in place (or refuses when the condition fails). */
  async function write(key: string, body: AsyncIterable<Uint8Array>, meta: ObjectMeta, opts?: WriteOptions) {
    const path = pathOf(key);
    await layout();
    const work = join(tmp, `put-${randomUUID()}`);
    const fh = await open(work, 'wx', 0o600);
    try {
      const hash = createHash('md5');
      let bytes = 0;
      for await (const chunk of body) {
        hash.update(chunk);
        bytes += chunk.byteLength;
        await fh.write(chunk);
      }
      const etag = hash.digest('hex');
      const trailer = Buffer.from(JSON.stringify({ bytes, etag, meta: { ...meta } }));
      const len = Buffer.alloc(LENGTH_BYTES);
      len.writeUInt32BE(trailer.length, 0);
      await fh.write(Buffer.concat([trailer, len]));
      await fh.datasync();
      await fh.close();
      await mkdir(dirname(path), { recursive: true, mode: 0o700 });
      await place(work, path, key, opts);
      return { key, bytes, etag, modifiedAt: Date.now(), meta: { ...meta } } satisfies ObjectInfo;
    } catch (err) {
      await fh.close().catch(() => undefined);
      await rm(work, { force: true });
      throw err;
    }
  }

  /**
   * Moves a finished work file to `path`. Create-only writes use `link`, which fails when the name is
   * taken, so two racing creators cannot both win; `ifMatch` compares then renames (one server process
   * owns the disk store, and its writers of one key are serialised by the caller's conditions).
   */
  async function place(work: string, path: string, key: string, opts?: WriteOptions): Promise<void> {
    if (opts?.ifNoneMatch === '*') {
      try {
        await link(work, path);
      } catch (err) {
        if ((err as NodeJS.ErrnoException).code === 'EEXIST') throw new StoreConflict(key);
        throw err;
      }
      await unlink(work);
      return;
    }
    if (opts?.ifMatch !== undefined) {
      const current = await head(key);
      if (current?.etag !== opts.ifMatch) throw new StoreConflict(key);
    }
    await rename(work, path);
  }

  async function listPage(
    { prefix, delimiter = false, after, limit = MAX_PAGE }: StoreListOptions,
    withMeta: boolean,
  ): Promise<ListPage> {
    const max = Math.min(Math.max(1, Math.floor(limit)), MAX_PAGE);
    const page: ListPage = { objects: [], prefixes: [], next: null };
    if (!isKeyPrefix(prefix)) return page;
    const cut = prefix.lastIndexOf('/');
    const dirKey = cut === -1 ? '' : prefix.slice(0, cut);
    const namePrefix = prefix.slice(cut + 1);
    const dir = dirKey === '' ? objects : join(objects, ...dirKey.split('/'));
    const base = dirKey === '' ? '' : `${dirKey}/`;
    let count = 0;
    for await (const entry of sortedWalk(dir, base, namePrefix, delimiter, after)) {
      if (count === max) {
        page.next = lastOf(page);
        return page;
      }
      if (entry.dir) page.prefixes.push(entry.key);
      else {
        const info = await head(entry.key);
        if (!info) continue;
        page.objects.push(withMeta ? info : { ...info, meta: {} });
      }
      count++;
    }
    return page;
  }

  async function* streamOf(source: OpenedObject | UnmetCondition | null): AsyncIterable<Uint8Array> {
    if (source === null || !('body' in source)) return;
    yield* source.body;
  }

  const store: FileStore = {
    kind: 'disk',
    put: write,
    head,
    async open(key, opts?: ReadOptions) {
      const fh = await openFile(key);
      if (!fh) return null;
      let info: ObjectInfo | null;
      try {
        info = await readTrailer(fh, key);
      } catch (err) {
        await fh.close();
        if (isDirectory(err)) return null;
        throw err;
      }
      if (!info) {
        await fh.close();
        return null;
      }
      const unmet = unmetCondition(info, opts);
      if (unmet) {
        await fh.close();
        return unmet;
      }
      const start = opts?.range?.start ?? 0;
      const end = Math.min(opts?.range?.end ?? info.bytes - 1, info.bytes - 1);
      if (end < start) {
        await fh.close();
        return { info, body: empty() };
      }
      return { info, body: fh.createReadStream({ start, end, autoClose: true }) };
    },
    async delete(key) {
      try {
        await unlink(pathOf(key));
        return true;
      } catch (err) {
        if (isMissing(err) || isDirectory(err)) return false;
        throw err;
      }
    },
    async *list(prefix) {
      let after: string | undefined;
      for (;;) {
        const page = await listPage({ prefix, after, limit: MAX_PAGE }, true);
        yield* page.objects;
        if (page.next === null) return;
        after = page.next;
      }
    },
    listPage: (opts) => listPage(opts, false),
    async copy(from, to, opts) {
      const source = await store.open(from);
      if (!source || !('body' in source)) return null;
      return write(to, streamOf(source), source.info.meta, opts);
    },
    async move(from, to) {
      const src = pathOf(from);
      const dst = pathOf(to);
      const info = await head(from);
      if (!info) return null;
      await mkdir(dirname(dst), { recursive: true, mode: 0o700 });
      try {
        await rename(src, dst);
      } catch (err) {
        if (isMissing(err)) return null;
        throw err;
      }
      return { ...info, key: to };
    },
    async signedUrl() {
      return null;
    },
  };
  return store;
}

/** The condition of a read that does not hold, or null. */
export function unmetCondition(info: ObjectInfo, opts: ReadOptions | undefined): UnmetCondition | null {
  if (opts?.ifMatch !== undefined && opts.ifMatch !== info.etag) {
    return { info, unmet: 'precondition-failed' };
  }
  if (opts?.ifNoneMatch !== undefined && (opts.ifNoneMatch === '*' || opts.ifNoneMatch === info.etag)) {
    return { info, unmet: 'not-modified' };
  }
  return null;
}

interface WalkEntry {
  key: string;
  dir: boolean;
}

/**
 * Entries under `dir` whose names start with `namePrefix`, in S3's key order (UTF-8 bytes, a folder
 * sorting as its name plus `/`), after `after`. With `delimiter`, a folder is one entry (its key ends
 * in `/`); without, the walk descends into it.
 */
async function* sortedWalk(
  dir: string,
  base: string,
  namePrefix: string,
  delimiter: boolean,
  after: string | undefined,
): AsyncIterable<WalkEntry> {
  let dirents: Dirent[];
  try {
    dirents = await readdir(dir, { withFileTypes: true });
  } catch (err) {
    if (isMissing(err)) return;
    throw err;
  }
  const entries = dirents
    .filter((d) => d.name.startsWith(namePrefix) && (d.isDirectory() || d.isFile()))
    .map((d) => ({ key: d.isDirectory() ? `${base}${d.name}/` : `${base}${d.name}`, dir: d.isDirectory() }))
    .sort((a, b) => compareKeys(a.key, b.key));
  for (const e of entries) {
    if (e.dir && !delimiter) {
      // Skip a folder wholly before `after`; descend into one that `after` falls inside.
      if (after !== undefined && compareKeys(e.key, after) <= 0 && !after.startsWith(e.key)) continue;
      yield* sortedWalk(join(dir, nameOf(e.key)), e.key, '', false, after);
      continue;
    }
    if (after !== undefined && compareKeys(e.key, after) <= 0) continue;
    yield e;
  }
}

function nameOf(key: string): string {
  const trimmed = key.endsWith('/') ? key.slice(0, -1) : key;
  return trimmed.slice(trimmed.lastIndexOf('/') + 1);
}

function lastOf(page: ListPage): string | null {
  const lastObject = page.objects.at(-1)?.key;
  const lastPrefix = page.prefixes.at(-1);
  if (lastObject === undefined) return lastPrefix ?? null;
  if (lastPrefix === undefined) return lastObject;
  return compareKeys(lastObject, lastPrefix) > 0 ? lastObject : lastPrefix;
}

async function* empty(): AsyncIterable<Uint8Array> {}

function isMissing(err: unknown): boolean {
  const code = (err as NodeJS.ErrnoException).code;
  return code === 'ENOENT' || code === 'ENOTDIR';
}

function isDirectory(err: unknown): boolean {
  return (err as NodeJS.ErrnoException).code === 'EISDIR';
}
