import { createHash, randomUUID } from 'node:crypto';
import { type FileHandle, mkdir, open, readdir, rename, rm, unlink } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import {
  type ByteRange,
  isObjectKey,
  type ObjectInfo,
  type ObjectStore,
  type OpenedObject,
} from '@hangar/core';

/** Length of the trailer's length field, bytes. */
const LENGTH_BYTES = 4;
const MAX_TRAILER_BYTES = 64 * 1024;

interface Trailer {
  bytes: number;
  etag: string;
  meta: Record<string, string>;
}

/**
 * Objects as files under `root/objects`: the bytes, then a JSON trailer (size, md5, metadata) and its
 * length, so an object and its metadata land together with one rename and a reader never sees half of
 * either. Work files go to `root/tmp` (same file system) and are removed when a write fails.
 */
export function createDiskObjectStore(root: string): ObjectStore {
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
    const { size } = await fh.stat();
    if (size < LENGTH_BYTES) return null;
    const len = Buffer.alloc(LENGTH_BYTES);
    await fh.read(len, 0, LENGTH_BYTES, size - LENGTH_BYTES);
    const trailerBytes = len.readUInt32BE(0);
    if (trailerBytes > MAX_TRAILER_BYTES || trailerBytes + LENGTH_BYTES > size) return null;
    const buf = Buffer.alloc(trailerBytes);
    await fh.read(buf, 0, trailerBytes, size - LENGTH_BYTES - trailerBytes);
    const t = JSON.parse(buf.toString('utf8')) as Trailer;
    if (t.bytes !== size - LENGTH_BYTES - trailerBytes) return null;
    return { key, bytes: t.bytes, etag: t.etag, meta: t.meta };
  }

  async function openFile(key: string): Promise<FileHandle | null> {
    try {
      return await open(pathOf(key), 'r');
    } catch (err) {
      if (isMissing(err)) return null;
      throw err;
    }
  }

  const store: ObjectStore = {
    async put(key, body, meta) {
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
        const info: ObjectInfo = { key, bytes, etag: hash.digest('hex'), meta: { ...meta } };
        const trailer = Buffer.from(JSON.stringify({ bytes, etag: info.etag, meta: info.meta }));
        const len = Buffer.alloc(LENGTH_BYTES);
        len.writeUInt32BE(trailer.length, 0);
        await fh.write(Buffer.concat([trailer, len]));
        await fh.datasync();
        await fh.close();
        await mkdir(dirname(path), { recursive: true, mode: 0o700 });
        await rename(work, path);
        return info;
      } catch (err) {
        await fh.close().catch(() => undefined);
        await rm(work, { force: true });
        throw err;
      }
    },
    async head(key) {
      const fh = await openFile(key);
      if (!fh) return null;
      try {
        return await readTrailer(fh, key);
      } finally {
        await fh.close();
      }
    },
    async open(key, range?: ByteRange): Promise<OpenedObject | null> {
      const fh = await openFile(key);
      if (!fh) return null;
      let info: ObjectInfo | null;
      try {
        info = await readTrailer(fh, key);
      } catch (err) {
        await fh.close();
        throw err;
      }
      if (!info) {
        await fh.close();
        return null;
      }
      const start = range?.start ?? 0;
      const end = Math.min(range?.end ?? info.bytes - 1, info.bytes - 1);
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
        if (isMissing(err)) return false;
        throw err;
      }
    },
    async *list(prefix) {
      const base = prefix.replace(/\/+$/, '');
      if (base !== '' && !isObjectKey(base)) return;
      yield* walk(store, base === '' ? objects : join(objects, ...base.split('/')), base);
    },
  };
  return store;
}

async function* walk(store: ObjectStore, dir: string, keyPrefix: string): AsyncIterable<ObjectInfo> {
  let entries: import('node:fs').Dirent[];
  try {
    entries = await readdir(dir, { withFileTypes: true });
  } catch (err) {
    if (isMissing(err) || (err as NodeJS.ErrnoException).code === 'ENOTDIR') return;
    throw err;
  }
  for (const e of entries) {
    const key = keyPrefix === '' ? e.name : `${keyPrefix}/${e.name}`;
    if (e.isDirectory()) yield* walk(store, join(dir, e.name), key);
    else if (e.isFile()) {
      const info = await store.head(key);
      if (info) yield info;
    }
  }
}

async function* empty(): AsyncIterable<Uint8Array> {}

function isMissing(err: unknown): boolean {
  const code = (err as NodeJS.ErrnoException).code;
  return code === 'ENOENT' || code === 'ENOTDIR';
}
