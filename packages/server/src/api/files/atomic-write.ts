import { randomUUID } from 'node:crypto';
import { constants, type FileHandle, lstat, open, readdir, rename, rmdir, unlink } from 'node:fs/promises';
import { type Readable, type Transform, Writable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { PlatformError } from '@hangar/core';
import { DirHandle, errnoOf, type OwnerIds, openChildDir } from './dir-handle.js';
import type { StorageUsage } from './quota.js';
import { TEMP_PREFIX } from './safe-path.js';

const O_NEW_FILE = constants.O_WRONLY | constants.O_CREAT | constants.O_EXCL | constants.O_NOFOLLOW;

/** A fresh hidden name for an in-flight file or folder. */
export function tempName(suffix = ''): string {
  return `${TEMP_PREFIX}${randomUUID()}${suffix}`;
}

/** Nothing freed or used. */
export const NONE: StorageUsage = Object.freeze({ bytes: 0, files: 0 });

function ignoreMissing(err: unknown): void {
  if (errnoOf(err) !== 'ENOENT') throw err;
}

/** Creates the new file `name` inside `dir` (never through a link), given to `ids`. */
export async function createFileIn(dir: DirHandle, name: string, ids: OwnerIds | null): Promise<FileHandle> {
  const fh = await open(dir.at(name), O_NEW_FILE, 0o644);
  if (ids) {
    await fh.chown(ids.uid, ids.gid).catch(async (err: unknown) => {
      await fh.close();
      await unlink(dir.at(name)).catch(() => undefined);
      throw err;
    });
  }
  return fh;
}

/** Streams `source` (through `stages`) into the new file `name` in `dir`, fsynced; removed on failure. */
export async function writeNewFile(
  dir: DirHandle,
  name: string,
  source: Readable,
  stages: Transform[],
  ids: OwnerIds | null,
): Promise<void> {
  const fh = await createFileIn(dir, name, ids);
  try {
    const sink = new Writable({
      write: (chunk: Buffer, _enc, done) => void fh.write(chunk).then(() => done(), done),
    });
    await pipeline([source, ...stages, sink]);
    await fh.sync();
  } catch (err) {
    await fh.close().catch(() => undefined);
    await unlink(dir.at(name)).catch(() => undefined);
    throw err;
  }
  await fh.close();
}

/** Refuses to put a file where a directory is; answers what the new file will replace. */
async function replaced(dir: DirHandle, name: string, rel: string): Promise<StorageUsage> {
  const info = await lstat(dir.at(name)).catch(() => null);
  if (info?.isDirectory()) throw new PlatformError('FILES_NOT_A_FILE', `A directory exists at ${rel}`);
  if (!info) return NONE;
  return { bytes: info.isFile() ? info.size : 0, files: 1 };
}

/**
 * Renames the finished temporary file `temp` (in `from`) over `name` in `dir` (same filesystem),
 * removing it on failure; answers what was replaced.
 */
export async function placeFile(
  from: DirHandle,
  temp: string,
  dir: DirHandle,
  name: string,
  rel: string,
): Promise<StorageUsage> {
  let old: StorageUsage;
  try {
    old = await replaced(dir, name, rel);
    await rename(from.at(temp), dir.at(name));
  } catch (err) {
    await unlink(from.at(temp)).catch(() => undefined);
    if (errnoOf(err) === 'EISDIR')
      throw new PlatformError('FILES_NOT_A_FILE', `A directory exists at ${rel}`);
    throw err;
  }
  await dir.sync();
  return old;
}

/**
 * Writes a stream to `name` in `dir` through a temporary file in that same open folder, then renames
 * it into place: readers see the old file or the whole new one. Answers what was replaced.
 */
export async function writeFileAtomically(
  dir: DirHandle,
  name: string,
  rel: string,
  source: Readable,
  stages: Transform[],
  ids: OwnerIds | null,
): Promise<StorageUsage> {
  await replaced(dir, name, rel);
  const temp = tempName();
  await writeNewFile(dir, temp, source, stages, ids);
  return placeFile(dir, temp, dir, name, rel);
}

/** Removes `name` in `parent` (a whole folder tree, never following a link); answers what it freed. */
export async function removeTree(parent: DirHandle, name: string): Promise<StorageUsage> {
  const info = await lstat(parent.at(name)).catch((err: unknown) => ignoreMissing(err));
  if (!info) return NONE;
  if (!info.isDirectory()) {
    await unlink(parent.at(name)).catch(ignoreMissing);
    return { bytes: info.isFile() ? info.size : 0, files: 1 };
  }
  const child = await openChildDir(parent, name);
  if (!(child instanceof DirHandle)) return child === 'missing' ? NONE : removeTree(parent, name);
  const freed = { bytes: 0, files: 1 };
  try {
    for (const entry of await readdir(child.path)) {
      const part = await removeTree(child, entry);
      freed.bytes += part.bytes;
      freed.files += part.files;
    }
  } finally {
    await child.close();
  }
  await rmdir(parent.at(name)).catch(ignoreMissing);
  return freed;
}

/** Moves every entry of the open folder `from` into the open folder `to`, merging folders. */
export async function mergeDirectory(from: DirHandle, to: DirHandle): Promise<void> {
  for (const entry of await readdir(from.path, { withFileTypes: true })) {
    if (entry.isDirectory()) {
      await mergeChild(from, entry.name, to, entry.name);
      continue;
    }
    const there = await lstat(to.at(entry.name)).catch(() => null);
    if (there?.isDirectory()) await removeTree(to, entry.name);
    await rename(from.at(entry.name), to.at(entry.name));
  }
  await to.sync();
}

/**
 * Puts the finished folder `fromName` (in `fromParent`) at `toName` in `toParent`: renamed when nothing
 * is there, merged into a folder, replacing anything of another kind (including a link); then removed.
 */
export async function mergeChild(
  fromParent: DirHandle,
  fromName: string,
  toParent: DirHandle,
  toName: string,
): Promise<void> {
  const there = await openChildDir(toParent, toName);
  if (!(there instanceof DirHandle)) {
    if (there !== 'missing') await removeTree(toParent, toName);
    await rename(fromParent.at(fromName), toParent.at(toName));
    await toParent.sync();
    return;
  }
  try {
    const from = await openChildDir(fromParent, fromName);
    if (!(from instanceof DirHandle)) throw new PlatformError('FILES_CONFLICT');
    try {
      await mergeDirectory(from, there);
    } finally {
      await from.close();
    }
  } finally {
    await there.close();
  }
  await removeTree(fromParent, fromName);
}
