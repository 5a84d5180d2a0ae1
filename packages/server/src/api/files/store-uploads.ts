import { createReadStream, createWriteStream } from 'node:fs';
import { mkdir, mkdtemp, readdir, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { pipeline, type Readable, type Transform } from 'node:stream';
import { pipeline as pipe } from 'node:stream/promises';
import { PlatformError } from '@hangar/core';
import { NONE } from './atomic-write.js';
import { DirHandle, withDir } from './dir-handle.js';
import type { OwnerFiles } from './owner-files.js';
import type { StorageUsage } from './quota.js';
import type { StoreOwnerFilesDeps } from './store-files.js';
import {
  checkNoFileAbove,
  empty,
  FOLDER_MARKER,
  folderPrefix,
  inBatches,
  isFolder,
  keyOf,
  walkPrefix,
} from './store-keys.js';
import { extractZip, looksLikeZip, type ZipLimits } from './unzip.js';
import { detached, quotaMeter, truncationGuard } from './uploads.js';

type Uploads = Pick<OwnerFiles, 'upload' | 'uploadFromUrl' | 'uploadArchive'>;

/** A local tree extracted from an archive: its files and folders, relative, `/`-separated. */
interface LocalTree {
  files: string[];
  folders: string[];
}

/**
 * Writes to the owner's prefix. A file is one `put` (the store shows it only once whole, and a failed
 * body leaves nothing); an archive is staged and extracted on local scratch space with the same checks
 * and caps as on disk, then stored entry by entry.
 */
export function createStoreUploads(deps: StoreOwnerFilesDeps): Uploads {
  const { store, quota } = deps;

  async function storeStream(
    owner: string,
    segments: readonly string[],
    source: Readable,
    stages: Transform[],
  ) {
    const rel = segments.join('/');
    if (segments.length === 0)
      throw new PlatformError('FILES_PATH_INVALID', 'A target file path is required');
    const key = keyOf(owner, segments);
    await checkNoFileAbove(store, owner, segments);
    if (await isFolder(store, owner, segments))
      throw new PlatformError('FILES_NOT_A_FILE', `A directory exists at ${rel}`);
    const reservation = await quota.reserve(owner, 0, 1);
    try {
      const replaced = await store.head(key);
      const body = pipeline(
        [source, ...stages, quotaMeter(reservation)],
        () => undefined,
      ) as unknown as Readable;
      try {
        await store.put(key, body, {});
      } finally {
        body.destroy();
      }
      reservation.commit(replaced ? { bytes: replaced.bytes, files: 1 } : NONE);
    } finally {
      reservation.release();
    }
  }

  async function extractInto(
    owner: string,
    segments: readonly string[],
    archive: string,
    out: string,
    limits: ZipLimits,
  ) {
    if (segments.length > 0 && (await store.head(keyOf(owner, segments))))
      throw new PlatformError(
        'FILES_NOT_A_DIRECTORY',
        `Cannot extract into ${segments.join('/')}: it is a file`,
      );
    await checkNoFileAbove(store, owner, segments);
    await mkdir(out);
    const reservation = await quota.reserve(owner, 0, 0);
    try {
      await withDir(DirHandle.open(out, out, true), (d) =>
        extractZip(archive, d, limits, { ids: null, charge: reservation.charge }),
      );
      const freed = await publishTree(owner, segments, out, await localTree(out));
      reservation.commit(freed);
    } finally {
      reservation.release();
    }
  }

  /**
   * Stores the extracted tree under the target folder, merging as the disk does: same-named files are
   * replaced, and an entry of the other kind (file against folder) is removed first. On a failure, the
   * objects this extraction created are deleted again (best effort); replaced ones stay replaced.
   */
  async function publishTree(
    owner: string,
    segments: readonly string[],
    out: string,
    tree: LocalTree,
  ): Promise<StorageUsage> {
    const prefix = folderPrefix(owner, segments);
    const existing = new Map<string, number>();
    for await (const o of walkPrefix(store, prefix)) existing.set(o.key, o.bytes);
    const freed = { bytes: 0, files: 0 };
    const files = new Set(tree.files);
    const drop = async (key: string) => {
      freed.bytes += existing.get(key) ?? 0;
      if (!key.endsWith(`/${FOLDER_MARKER}`)) freed.files += 1;
      existing.delete(key);
      await store.delete(key);
    };
    const inTheWay = [
      ...tree.folders.map((d) => prefix + d).filter((k) => existing.has(k)),
      ...[...existing.keys()].filter((k) => underAFile(k.slice(prefix.length), files)),
    ];
    await inBatches(inTheWay, 16, drop);
    const created: string[] = [];
    try {
      await inBatches(tree.files, 4, async (f) => {
        const key = prefix + f;
        const before = existing.get(key);
        await store.put(key, createReadStream(join(out, f)), {});
        if (before === undefined) created.push(key);
        else {
          freed.bytes += before;
          freed.files += 1;
        }
      });
      const leaves = tree.folders.filter((d) => !tree.files.some((f) => f.startsWith(`${d}/`)));
      await inBatches(
        leaves,
        16,
        async (d) => void (await store.put(`${prefix}${d}/${FOLDER_MARKER}`, empty(), {})),
      );
    } catch (err) {
      await inBatches(created, 16, async (k) => void (await store.delete(k).catch(() => false)));
      throw err;
    }
    return freed;
  }

  return {
    upload: (owner, segments, source, maxBytes) =>
      storeStream(owner, segments, detached(source), [truncationGuard(source, maxBytes)]),
    async uploadFromUrl(owner, segments, url, fetch) {
      if (segments.length === 0)
        throw new PlatformError('FILES_PATH_INVALID', 'A target file path is required');
      keyOf(owner, segments);
      const res = await fetch(url, { headers: { accept: '*/*' } });
      if (res.status < 200 || res.status > 299) {
        res.body.destroy();
        throw new PlatformError('NET_FETCH_FAILED', `The URL answered HTTP ${res.status}`);
      }
      try {
        await storeStream(owner, segments, res.body, []);
      } finally {
        res.body.destroy();
      }
    },
    async uploadArchive(owner, segments, source, limits) {
      await mkdir(deps.scratchDir, { recursive: true, mode: 0o700 });
      const dir = await mkdtemp(join(deps.scratchDir, 'unzip-'));
      const held = await quota.reserve(owner, 0, 1);
      try {
        const staged = join(dir, 'upload');
        await pipe(
          detached(source),
          truncationGuard(source, limits.maxUploadBytes),
          quotaMeter(held),
          createWriteStream(staged, { mode: 0o600 }),
        );
        if (!(await looksLikeZip(staged))) {
          held.release();
          return await storeStream(owner, segments, createReadStream(staged), []);
        }
        await extractInto(owner, segments, staged, join(dir, 'out'), limits);
      } finally {
        held.release();
        await rm(dir, { recursive: true, force: true });
      }
    },
  };
}

/** The files and folders below `root`, relative and `/`-separated (extraction made no links). */
async function localTree(root: string, rel = '', tree: LocalTree = { files: [], folders: [] }) {
  for (const entry of await readdir(join(root, rel), { withFileTypes: true })) {
    const path = rel ? `${rel}/${entry.name}` : entry.name;
    if (entry.isDirectory()) {
      tree.folders.push(path);
      await localTree(root, path, tree);
    } else if (entry.isFile()) tree.files.push(path);
  }
  return tree;
}

/** True when some folder above `rel` is one of `files` (the extraction puts a file there). */
function underAFile(rel: string, files: ReadonlySet<string>): boolean {
  for (let i = rel.indexOf('/'); i !== -1; i = rel.indexOf('/', i + 1))
    if (files.has(rel.slice(0, i))) return true;
  return false;
}
