import { lstat, rename, rm } from 'node:fs/promises';
import { dirname } from 'node:path';
import { PlatformError } from '@hangar/core';
import { ensureDirectory, syncDirectory } from './atomic-write.js';
import type { ResolvedPath } from './safe-path.js';

function notFound(path: ResolvedPath): PlatformError {
  return new PlatformError('FILES_NOT_FOUND', `Not found: ${path.rel}`);
}

/** Deletes a file, a symlink or a whole folder tree; the root itself cannot be deleted. */
export async function deletePath(path: ResolvedPath): Promise<void> {
  if (path.rel === '') throw new PlatformError('FILES_PATH_INVALID', 'The storage root cannot be deleted');
  if (!path.exists) throw notFound(path);
  await rm(path.abs, { recursive: true, force: true });
}

/**
 * Moves or renames a file or folder. A file replaces an existing file atomically; anything landing
 * on an existing folder, or a folder landing on a file, is refused with 409.
 */
export async function movePath(from: ResolvedPath, to: ResolvedPath): Promise<void> {
  if (from.rel === '' || to.rel === '') {
    throw new PlatformError('FILES_PATH_INVALID', 'The storage root cannot be moved or replaced');
  }
  if (!from.exists) throw notFound(from);
  if (from.abs === to.abs) return;
  if (to.rel.startsWith(`${from.rel}/`)) {
    throw new PlatformError('FILES_PATH_INVALID', 'A folder cannot be moved into itself');
  }
  const source = await lstat(from.abs);
  const dest = await lstat(to.abs).catch(() => null);
  if (dest && (dest.isDirectory() || source.isDirectory())) {
    throw new PlatformError('FILES_DESTINATION_EXISTS', `The destination already exists: ${to.rel}`);
  }
  await ensureDirectory(dirname(to.abs));
  await rename(from.abs, to.abs).catch((err: { code?: string }) => {
    // EINVAL: a folder moved below itself through a symlinked path.
    if (err.code === 'EINVAL')
      throw new PlatformError('FILES_PATH_INVALID', 'A folder cannot be moved into itself');
    throw err;
  });
  await syncDirectory(dirname(to.abs));
}
