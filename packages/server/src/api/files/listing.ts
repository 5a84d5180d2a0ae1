import type { Dirent, Stats } from 'node:fs';
import { lstat, readdir } from 'node:fs/promises';
import { PlatformError } from '@hangar/core';
import { type DirHandle, openExistingDir } from './dir-handle.js';
import { TEMP_PREFIX } from './safe-path.js';

/** One entry of a listing, exactly fal's "File or folder specification" (checksums are never computed). */
export interface FileEntry {
  path: string;
  name: string;
  created_time: string;
  updated_time: string;
  is_file: boolean;
  size: number;
}

/**
 * Lists one level of a directory; 404 when it does not exist, 400 when it is a file. Symbolic links
 * (which the Files API never follows), devices and sockets are left out.
 */
export async function listDirectory(root: DirHandle, segments: readonly string[]): Promise<FileEntry[]> {
  const rel = segments.join('/');
  const dir = await openExistingDir(root, segments);
  if (dir === 'missing') throw new PlatformError('FILES_NOT_FOUND', `Directory not found: ${rel || '/'}`);
  if (dir === 'file') throw new PlatformError('FILES_NOT_A_DIRECTORY', `Not a directory: ${rel}`);
  try {
    const dirents = await readdir(dir.path, { withFileTypes: true });
    const visible = dirents.filter((d) => !d.name.startsWith(TEMP_PREFIX) && !d.isSymbolicLink());
    const entries = await Promise.all(visible.map((d) => describe(dir, rel, d)));
    return entries
      .filter((e): e is FileEntry => e !== null)
      .sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
  } finally {
    await dir.close();
  }
}

async function describe(dir: DirHandle, rel: string, d: Dirent): Promise<FileEntry | null> {
  const info = await lstat(dir.at(d.name)).catch(() => null);
  if (!info || (!info.isFile() && !info.isDirectory())) return null;
  return toEntry(rel ? `${rel}/${d.name}` : d.name, d.name, info);
}

/** Maps file metadata to fal's entry shape (UTC ISO timestamps with milliseconds). */
export function toEntry(path: string, name: string, info: Stats): FileEntry {
  const created = info.birthtimeMs > 0 ? info.birthtimeMs : info.mtimeMs;
  return {
    path,
    name,
    created_time: new Date(Math.floor(created)).toISOString(),
    updated_time: new Date(Math.floor(info.mtimeMs)).toISOString(),
    is_file: info.isFile(),
    size: info.isFile() ? info.size : 0,
  };
}
