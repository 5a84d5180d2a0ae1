import { type BigIntStats, existsSync } from 'node:fs';
import { constants, type FileHandle, lstat, mkdir, open } from 'node:fs/promises';
import { join } from 'node:path';
import { PlatformError } from '@hangar/core';

// Every Files operation walks from the owner's root one open directory at a time and never follows a
// symbolic link. On Linux each name is looked up through the already-open parent's descriptor
// (`/proc/self/fd/<fd>/<name>`, an `openat` emulation), so swapping a folder for a link while a request
// runs cannot redirect it: the request keeps working in the directory inode it opened.

/** Whether names can be resolved through open descriptors; elsewhere paths are re-walked (best effort). */
export const DESCRIPTOR_PATHS = process.platform === 'linux' && existsSync('/proc/self/fd');

const O_DIR = constants.O_RDONLY | constants.O_DIRECTORY | constants.O_NOFOLLOW;

/** Numeric ids every file and folder the Files API creates for an owner is given. */
export interface OwnerIds {
  uid: number;
  gid: number;
}

/** A directory opened beneath an owner's root; names inside it resolve through its descriptor. */
export class DirHandle {
  private constructor(
    private readonly fh: FileHandle,
    /** The path this directory was reached by (used only where descriptors are unavailable). */
    private readonly walked: string,
  ) {}

  /** Opens `path` as a directory, refusing a symbolic link at its last component. */
  static async open(path: string, walked = path, follow = false): Promise<DirHandle> {
    const flags = follow ? constants.O_RDONLY | constants.O_DIRECTORY : O_DIR;
    return new DirHandle(await open(path, flags), walked);
  }

  /** A path naming the directory itself. */
  get path(): string {
    return DESCRIPTOR_PATHS ? `/proc/self/fd/${this.fh.fd}` : this.walked;
  }

  /** A path naming `name` inside this directory, bound to the opened inode where possible. */
  at(name: string): string {
    return DESCRIPTOR_PATHS ? `/proc/self/fd/${this.fh.fd}/${name}` : join(this.walked, name);
  }

  /** Where a child reached from here was walked to (fallback bookkeeping). */
  walkedTo(name: string): string {
    return join(this.walked, name);
  }

  /** Gives the opened directory to `ids`, never following a link. */
  async chown(ids: OwnerIds | null): Promise<void> {
    if (ids) await this.fh.chown(ids.uid, ids.gid);
  }

  /** The opened directory's metadata, with nanosecond times. */
  stat(): Promise<BigIntStats> {
    return this.fh.stat({ bigint: true });
  }

  /** Flushes the directory's entry table (best effort: not every filesystem allows it). */
  async sync(): Promise<void> {
    await this.fh.sync().catch(() => undefined);
  }

  async close(): Promise<void> {
    await this.fh.close().catch(() => undefined);
  }
}

/** Runs `fn` with an open directory and closes it afterwards, whatever happens. */
export async function withDir<T>(dir: Promise<DirHandle>, fn: (dir: DirHandle) => Promise<T>): Promise<T> {
  const handle = await dir;
  try {
    return await fn(handle);
  } finally {
    await handle.close();
  }
}

/** What a name inside a directory turned out to be when opened as a folder. */
export type ChildDir = DirHandle | 'missing' | 'file' | 'link';

/** Opens the folder `name` inside `parent` without following a link there. */
export async function openChildDir(parent: DirHandle, name: string): Promise<ChildDir> {
  try {
    return await DirHandle.open(parent.at(name), parent.walkedTo(name));
  } catch (err) {
    const code = errnoOf(err);
    if (code === 'ENOENT') return 'missing';
    if (code !== 'ENOTDIR' && code !== 'ELOOP') throw err;
  }
  const info = await lstat(parent.at(name)).catch(() => null);
  if (!info) return 'missing';
  if (info.isSymbolicLink()) return 'link';
  if (info.isDirectory()) throw changed();
  return 'file';
}

/** The owner's root, created on first use (and given to `ids` when this call created it). */
export async function openRoot(root: string, ids: OwnerIds | null): Promise<DirHandle> {
  const created = await mkdir(root, { recursive: true });
  // The root's own path is the operator's (HANGAR_HOME); only what lies below it is untrusted.
  const dir = await DirHandle.open(root, root, true);
  if (created !== undefined) {
    await dir.chown(ids).catch(async (err: unknown) => {
      await dir.close();
      throw err;
    });
  }
  return dir;
}

/** A symbolic link on the way: the Files API never follows one. */
export function throughLink(): PlatformError {
  return new PlatformError('FILES_PATH_INVALID', 'Invalid file path: it goes through a symbolic link');
}

/** The tree changed under a request (another writer raced it): safe to retry. */
export function changed(): PlatformError {
  return new PlatformError('FILES_CONFLICT');
}

/**
 * Opens the folder `segments` names below `base` (which stays open). Missing folders are created
 * (and given to `ids`) when `create` is set, else the answer is null; a file in the way is null
 * (or 400 when creating), a link anywhere is 400.
 */
export async function openDir(
  base: DirHandle,
  segments: readonly string[],
  create: boolean,
  ids: OwnerIds | null = null,
): Promise<DirHandle | null> {
  let current: DirHandle | null = null;
  try {
    for (const name of segments) {
      const next = await openOrCreate(current ?? base, name, create, ids);
      await current?.close();
      current = next;
      if (next === null) return null;
    }
  } catch (err) {
    await current?.close();
    throw err;
  }
  // The base itself: a second descriptor (through its magic link), so callers close what they get.
  return current ?? DirHandle.open(base.path, base.walkedTo(''), true);
}

async function openOrCreate(
  parent: DirHandle,
  name: string,
  create: boolean,
  ids: OwnerIds | null,
): Promise<DirHandle | null> {
  for (let attempt = 0; attempt < 3; attempt++) {
    const child = await openChildDir(parent, name);
    if (child instanceof DirHandle) return child;
    if (child === 'link') throw throughLink();
    if (child === 'file') {
      if (!create) return null;
      throw new PlatformError('FILES_NOT_A_DIRECTORY', 'A file is in the way of the target folder');
    }
    if (!create) return null;
    const made = await mkdir(parent.at(name), 0o755).then(
      () => true,
      (err: unknown) => {
        if (errnoOf(err) === 'EEXIST') return false;
        throw err;
      },
    );
    if (!made) continue;
    const dir = await openChildDir(parent, name);
    if (!(dir instanceof DirHandle)) throw changed();
    await dir.chown(ids);
    return dir;
  }
  throw changed();
}

/** The errno code of a filesystem error, if any. */
export function errnoOf(err: unknown): string | undefined {
  const code = (err as { code?: unknown } | null)?.code;
  return typeof code === 'string' ? code : undefined;
}

/**
 * Maps what a racing writer can make a filesystem call fail with to a 4xx without any server path;
 * anything else is left for the edge handler (500).
 */
export function translateFsError(err: unknown): unknown {
  if (err instanceof PlatformError) return err;
  switch (errnoOf(err)) {
    case 'ENOENT':
      return new PlatformError('FILES_NOT_FOUND');
    case 'ELOOP':
      return throughLink();
    case 'ENOTDIR':
    case 'EISDIR':
    case 'EEXIST':
    case 'ENOTEMPTY':
    case 'EBUSY':
    case 'EXDEV':
      return changed();
    case 'ENAMETOOLONG':
      return new PlatformError('FILES_PATH_INVALID', 'Invalid file path: too long');
    default:
      return err;
  }
}

/** Opens the existing folder `segments` names: 'missing' when absent (or below a file), 'file' when one. */
export async function openExistingDir(
  root: DirHandle,
  segments: readonly string[],
): Promise<DirHandle | 'missing' | 'file'> {
  const name = segments[segments.length - 1];
  if (name === undefined) return (await openDir(root, [], false)) as DirHandle;
  const parent = await openDir(root, segments.slice(0, -1), false);
  if (!parent) return 'missing';
  try {
    const child = await openChildDir(parent, name);
    if (child === 'link') throw throughLink();
    return child;
  } finally {
    await parent.close();
  }
}
