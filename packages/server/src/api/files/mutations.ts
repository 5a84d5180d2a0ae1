import { lstat, rename } from 'node:fs/promises';
import { PlatformError } from '@hangar/core';
import { NONE, removeTree } from './atomic-write.js';
import { type DirHandle, errnoOf, type OwnerIds, openDir, withDir } from './dir-handle.js';
import type { StorageUsage } from './quota.js';

function notFound(rel: string): PlatformError {
  return new PlatformError('FILES_NOT_FOUND', `Not found: ${rel}`);
}

/** The folder holding the last segment (which must exist unless `create`), or 404. */
async function parentOf(
  root: DirHandle,
  segments: readonly string[],
  create: boolean,
  ids: OwnerIds | null,
): Promise<DirHandle> {
  const dir = await openDir(root, segments.slice(0, -1), create, ids);
  if (!dir) throw notFound(segments.join('/'));
  return dir;
}

/**
 * Deletes a file, a symlink (never its target) or a whole folder tree; the root itself cannot be
 * deleted. Answers what was freed.
 */
export async function deletePath(root: DirHandle, segments: readonly string[]): Promise<StorageUsage> {
  const name = segments[segments.length - 1];
  if (name === undefined) throw new PlatformError('FILES_PATH_INVALID', 'The storage root cannot be deleted');
  return withDir(parentOf(root, segments, false, null), async (dir) => {
    const there = await lstat(dir.at(name)).catch(() => null);
    if (!there) throw notFound(segments.join('/'));
    return removeTree(dir, name);
  });
}

/**
 * Moves or renames a file, folder or link (never through one). A file replaces an existing file
 * atomically; anything landing on an existing folder, or a folder landing on a file, is refused with
 * 409. Answers what the move replaced.
 */
export async function movePath(
  root: DirHandle,
  from: readonly string[],
  to: readonly string[],
  ids: OwnerIds | null,
): Promise<StorageUsage> {
  const fromName = from[from.length - 1];
  const toName = to[to.length - 1];
  if (fromName === undefined || toName === undefined) {
    throw new PlatformError('FILES_PATH_INVALID', 'The storage root cannot be moved or replaced');
  }
  const fromRel = from.join('/');
  const toRel = to.join('/');
  if (toRel.startsWith(`${fromRel}/`)) {
    throw new PlatformError('FILES_PATH_INVALID', 'A folder cannot be moved into itself');
  }
  return withDir(parentOf(root, from, false, null), async (src) => {
    const source = await lstat(src.at(fromName)).catch(() => null);
    if (!source) throw notFound(fromRel);
    if (fromRel === toRel) return NONE;
    return withDir(parentOf(root, to, true, ids), async (dst) => {
      const dest = await lstat(dst.at(toName)).catch(() => null);
      if (dest && (dest.isDirectory() || source.isDirectory())) {
        throw new PlatformError('FILES_DESTINATION_EXISTS', `The destination already exists: ${toRel}`);
      }
      await rename(src.at(fromName), dst.at(toName)).catch((err: unknown) => {
        // EINVAL: a folder moved below itself; ENOTEMPTY/EISDIR: a folder appeared at the destination.
        if (errnoOf(err) === 'EINVAL')
          throw new PlatformError('FILES_PATH_INVALID', 'A folder cannot be moved into itself');
        if (errnoOf(err) === 'ENOTEMPTY' || errnoOf(err) === 'EISDIR' || errnoOf(err) === 'EEXIST')
          throw new PlatformError('FILES_DESTINATION_EXISTS', `The destination already exists: ${toRel}`);
        throw err;
      });
      await dst.sync();
      return dest ? { bytes: dest.isFile() ? dest.size : 0, files: 1 } : NONE;
    });
  });
}
