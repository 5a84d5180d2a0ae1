import type { Dirent, Stats } from 'node:fs';
import { readdir, realpath, stat } from 'node:fs/promises';
import { join, sep } from 'node:path';
import { PlatformError } from '@hangar/core';
import { isMissing, type ResolvedPath, TEMP_PREFIX } from './safe-path.js';

/** One entry of a listing, exactly fal's "File or folder specification" (checksums are never computed). */
export interface FileEntry {
  path: string;
  name: string;
  created_time: string;
  updated_time: string;
  is_file: boolean;
  size: number;
}

/** Lists one level of a directory; 404 when it does not exist, 400 when it is a file. */
export async function listDirectory(realRoot: string, dir: ResolvedPath): Promise<FileEntry[]> {
  if (!dir.exists) throw new PlatformError('FILES_NOT_FOUND', `Directory not found: ${dir.rel || '/'}`);
  let dirents: Dirent[];
  try {
    dirents = await readdir(dir.abs, { withFileTypes: true });
  } catch (err) {
    const code = (err as { code?: string }).code;
    if (code === 'ENOTDIR') throw new PlatformError('FILES_NOT_A_DIRECTORY', `Not a directory: ${dir.rel}`);
    if (isMissing(err)) throw new PlatformError('FILES_NOT_FOUND', `Directory not found: ${dir.rel}`);
    throw err;
  }
  const visible = dirents.filter((d) => !d.name.startsWith(TEMP_PREFIX));
  const entries = await Promise.all(visible.map((d) => describe(realRoot, dir, d)));
  return entries
    .filter((e): e is FileEntry => e !== null)
    .sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
}

async function describe(realRoot: string, dir: ResolvedPath, d: Dirent): Promise<FileEntry | null> {
  const abs = join(dir.abs, d.name);
  let info: Stats;
  try {
    if (d.isSymbolicLink()) {
      // A link is listed as what it points to, and only when that stays inside the owner's root.
      const target = await realpath(abs);
      if (target !== realRoot && !target.startsWith(realRoot + sep)) return null;
    }
    info = await stat(abs);
  } catch (err) {
    if (isMissing(err) || (err as { code?: string }).code === 'ELOOP') return null;
    throw err;
  }
  if (!info.isFile() && !info.isDirectory()) return null;
  return toEntry(dir.rel ? `${dir.rel}/${d.name}` : d.name, d.name, info);
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
