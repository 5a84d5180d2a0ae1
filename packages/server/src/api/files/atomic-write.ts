import { randomUUID } from 'node:crypto';
import { createWriteStream } from 'node:fs';
import { lstat, mkdir, open, readdir, rename, rm } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import type { Readable, Transform } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { PlatformError } from '@hangar/core';
import { TEMP_PREFIX } from './safe-path.js';

/** A fresh hidden name for an in-flight file or folder inside `dir`. */
export function tempPathIn(dir: string, suffix = ''): string {
  return join(dir, `${TEMP_PREFIX}${randomUUID()}${suffix}`);
}

/** Creates the folders leading to `dir`, mapping "a file is in the way" to a 400. */
export async function ensureDirectory(dir: string): Promise<void> {
  try {
    await mkdir(dir, { recursive: true });
  } catch (err) {
    const code = (err as { code?: string }).code;
    if (code === 'EEXIST' || code === 'ENOTDIR') {
      throw new PlatformError('FILES_NOT_A_DIRECTORY', 'A file is in the way of the target folder');
    }
    throw err;
  }
}

/** Streams `source` (through `stages`) into a new file at `path`, fsynced before close; removed on failure. */
export async function writeDurably(path: string, source: Readable, ...stages: Transform[]): Promise<void> {
  try {
    await pipeline([source, ...stages, createWriteStream(path, { flags: 'wx', mode: 0o644, flush: true })]);
  } catch (err) {
    await rm(path, { force: true });
    throw err;
  }
}

/** Flushes a directory entry table so a rename survives a crash (best effort: not every FS allows it). */
export async function syncDirectory(dir: string): Promise<void> {
  const fh = await open(dir, 'r').catch(() => null);
  if (!fh) return;
  await fh
    .sync()
    .catch(() => undefined)
    .finally(() => fh.close());
}

/** Refuses to put a file where a directory is. */
async function assertNotDirectory(target: string, rel: string): Promise<void> {
  const info = await lstat(target).catch(() => null);
  if (info?.isDirectory()) throw new PlatformError('FILES_NOT_A_FILE', `A directory exists at ${rel}`);
}

/**
 * Writes a stream to `target` through a temporary file in the same folder, then renames it into
 * place: readers see the old file or the whole new one, never a partial write.
 */
export async function writeFileAtomically(
  target: string,
  rel: string,
  source: Readable,
  ...stages: Transform[]
): Promise<void> {
  const dir = dirname(target);
  await ensureDirectory(dir);
  await assertNotDirectory(target, rel);
  const temp = tempPathIn(dir);
  await writeDurably(temp, source, ...stages);
  await placeFile(temp, target, rel);
}

/** Renames a finished temporary file over `target` (same filesystem), removing it on failure. */
export async function placeFile(temp: string, target: string, rel: string): Promise<void> {
  try {
    await ensureDirectory(dirname(target));
    await assertNotDirectory(target, rel);
    await rename(temp, target);
  } catch (err) {
    await rm(temp, { force: true });
    throw err;
  }
  await syncDirectory(dirname(target));
}

/**
 * Moves every entry of the finished folder `from` into `to`: files replace files one rename at a
 * time, folders merge, and anything of the other kind in the way (including symlinks) is replaced.
 */
export async function mergeDirectory(from: string, to: string): Promise<void> {
  const existing = await lstat(to).catch(() => null);
  if (!existing) {
    await ensureDirectory(dirname(to));
    await rename(from, to);
    return;
  }
  if (!existing.isDirectory()) await rm(to, { force: true });
  if (!existing.isDirectory()) return rename(from, to);
  for (const entry of await readdir(from, { withFileTypes: true })) {
    const source = join(from, entry.name);
    const dest = join(to, entry.name);
    const there = await lstat(dest).catch(() => null);
    if (entry.isDirectory() && there?.isDirectory()) {
      await mergeDirectory(source, dest);
      continue;
    }
    if (there && (there.isDirectory() || entry.isDirectory()))
      await rm(dest, { recursive: true, force: true });
    await rename(source, dest);
  }
  await rm(from, { recursive: true, force: true });
  await syncDirectory(to);
}
