import type { BigIntStats, Dirent } from 'node:fs';
import { constants, type FileHandle, lstat, open, readdir, rename, unlink } from 'node:fs/promises';
import { DirHandle, errnoOf, type OwnerIds, openChildDir, openDir } from '../api/files/dir-handle.js';
import { TEMP_PREFIX } from '../api/files/safe-path.js';

// The cache is written by an untrusted runner: every name is reached through already-open directories
// (O_NOFOLLOW at each step, see dir-handle.ts), links, devices, sockets and FIFOs are never opened, and a
// file is opened without following a link, then checked to be a regular file through its descriptor.

/** A regular file of the cache as last seen: size, modification time (ns) and inode, as one string. */
export type FileSig = string;

/** What one walk of an owner's cache found. */
export interface TreeScan {
  /** Relative path (`/`-separated) → signature and size, for every regular file. */
  files: Map<string, { sig: FileSig; size: number }>;
  /** Folders that could not be read (removed meanwhile, swapped, unreadable): nothing below is known. */
  unreadable: string[];
  /** False when the walk stopped at its entry cap: only what `files` holds is known. */
  complete: boolean;
}

/** Paths deeper than this many UTF-8 bytes cannot become object keys; the walk does not descend there. */
const MAX_REL_BYTES = 1024;
const O_FILE = constants.O_RDONLY | constants.O_NOFOLLOW | constants.O_NONBLOCK;
const CHUNK = 1024 * 1024;

function sigOf(st: BigIntStats): FileSig {
  return `${st.size}:${st.mtimeNs}:${st.ino}`;
}

/** Opens the cache root (the operator's path: following it is fine, below it nothing is followed). */
export function openCacheRoot(root: string): Promise<DirHandle> {
  return DirHandle.open(root, root, true);
}

/** Walks the tree below `root`, never following a link, stopping after `maxEntries` entries. */
export async function scanTree(root: DirHandle, maxEntries: number): Promise<TreeScan> {
  const scan: TreeScan = { files: new Map(), unreadable: [], complete: true };
  let seen = 0;
  const walk = async (dir: DirHandle, rel: string): Promise<void> => {
    let entries: Dirent[];
    try {
      entries = await readdir(dir.path, { withFileTypes: true });
    } catch {
      scan.unreadable.push(rel);
      return;
    }
    for (const entry of entries) {
      if (++seen > maxEntries) {
        scan.complete = false;
        return;
      }
      // Names the Files API reserves (its folder markers, work objects) are never published.
      if (entry.name.startsWith(TEMP_PREFIX)) continue;
      const path = rel === '' ? entry.name : `${rel}/${entry.name}`;
      if (Buffer.byteLength(path) > MAX_REL_BYTES) continue;
      if (entry.isDirectory()) {
        const child = await openChildDir(dir, entry.name).catch(() => 'gone' as const);
        if (!(child instanceof DirHandle)) {
          if (child !== 'link') scan.unreadable.push(path);
          continue;
        }
        try {
          await walk(child, path);
        } finally {
          await child.close();
        }
        if (!scan.complete) return;
      } else if (entry.isFile()) {
        const st = await lstat(dir.at(entry.name), { bigint: true }).catch(() => null);
        if (st?.isFile()) scan.files.set(path, { sig: sigOf(st), size: Number(st.size) });
        else if (st?.isDirectory()) scan.unreadable.push(path);
      }
      // Links, sockets, FIFOs and devices are not the owner's data: never opened, never published.
    }
  };
  await walk(root, '');
  return scan;
}

/** The folder holding `rel`, opened below `root` (created, and given to `ids`, when `create`). */
async function parentOf(
  root: DirHandle,
  rel: string,
  create: boolean,
  ids: OwnerIds | null,
): Promise<{ dir: DirHandle; name: string } | null> {
  const segments = rel.split('/');
  const name = segments.pop() as string;
  const dir = await openDir(root, segments, create, ids);
  return dir ? { dir, name } : null;
}

/** Whether an absent local path is known to be absent (not below a folder the walk could not read). */
export function knownAbsent(scan: TreeScan, path: string): boolean {
  if (!scan.complete) return false;
  return !scan.unreadable.some((u) => u === '' || path === u || path.startsWith(`${u}/`));
}

/** The signature of `rel` now: null when absent, 'other' when not a regular file (or unreachable). */
export async function currentSig(root: DirHandle, rel: string): Promise<FileSig | null | 'other'> {
  let parent: Awaited<ReturnType<typeof parentOf>>;
  try {
    parent = await parentOf(root, rel, false, null);
  } catch {
    return 'other';
  }
  if (!parent) return null;
  try {
    const st = await lstat(parent.dir.at(parent.name), { bigint: true });
    return st.isFile() ? sigOf(st) : 'other';
  } catch (err) {
    return errnoOf(err) === 'ENOENT' ? null : 'other';
  }
}

/** Thrown into an upload body when the file changed while it was read: the store keeps nothing. */
export class FileChanged extends Error {
  constructor() {
    super('the file changed while it was read');
    this.name = 'FileChanged';
  }
}

/** A cache file opened for publishing, only if it is still the regular file with signature `sig`. */
export interface OpenedCacheFile {
  /** Its bytes; throws {@link FileChanged} at the end when it was written to meanwhile. */
  body: AsyncIterable<Uint8Array>;
  close(): Promise<void>;
}

/** Opens `rel` for reading without following any link; null when it is not the file scanned as `sig`. */
export async function openCacheFile(
  root: DirHandle,
  rel: string,
  sig: FileSig,
): Promise<OpenedCacheFile | null> {
  let parent: Awaited<ReturnType<typeof parentOf>>;
  try {
    parent = await parentOf(root, rel, false, null);
  } catch {
    return null;
  }
  if (!parent) return null;
  let fh: FileHandle;
  try {
    fh = await open(parent.dir.at(parent.name), O_FILE);
  } catch {
    return null;
  } finally {
    await parent.dir.close();
  }
  const st = await fh.stat({ bigint: true }).catch(() => null);
  if (!st?.isFile() || sigOf(st) !== sig) {
    await fh.close();
    return null;
  }
  return { body: readAll(fh, sig), close: () => fh.close().catch(() => undefined) };
}

async function* readAll(fh: FileHandle, sig: FileSig): AsyncIterable<Uint8Array> {
  for (;;) {
    const buf = Buffer.allocUnsafe(CHUNK);
    const { bytesRead } = await fh.read(buf, 0, CHUNK, null);
    if (bytesRead === 0) break;
    yield buf.subarray(0, bytesRead);
  }
  const after = await fh.stat({ bigint: true });
  if (sigOf(after) !== sig) throw new FileChanged();
}

/** Why a download could not be put in place. */
export type PlaceRefusal = 'changed' | 'blocked';

/**
 * Renames the downloaded `tmpPath` to `rel` (parents created and given to `ids`), only while `rel` is
 * still what was scanned: absent (`expect` null) or the file with signature `expect`. Answers the new
 * file's signature, or why it was not placed (then `tmpPath` is left to the caller).
 */
export async function placeFile(
  root: DirHandle,
  rel: string,
  tmpPath: string,
  expect: FileSig | null,
  ids: OwnerIds | null,
): Promise<FileSig | PlaceRefusal> {
  let parent: Awaited<ReturnType<typeof parentOf>>;
  try {
    parent = await parentOf(root, rel, true, ids);
  } catch {
    return 'blocked';
  }
  if (!parent) return 'blocked';
  const { dir, name } = parent;
  try {
    const now = await lstat(dir.at(name), { bigint: true }).catch((err: unknown) => {
      if (errnoOf(err) === 'ENOENT') return null;
      throw err;
    });
    if (now?.isDirectory()) return 'blocked';
    if ((now ? sigOf(now) : null) !== expect) return 'changed';
    await rename(tmpPath, dir.at(name));
    return sigOf(await lstat(dir.at(name), { bigint: true }));
  } catch {
    return 'changed';
  } finally {
    await dir.close();
  }
}

/** Removes the file `rel` only while it is still the one scanned as `sig`; true when removed. */
export async function removeFile(root: DirHandle, rel: string, sig: FileSig): Promise<boolean> {
  let parent: Awaited<ReturnType<typeof parentOf>>;
  try {
    parent = await parentOf(root, rel, false, null);
  } catch {
    return false;
  }
  if (!parent) return false;
  try {
    const now = await lstat(parent.dir.at(parent.name), { bigint: true });
    if (!now.isFile() || sigOf(now) !== sig) return false;
    await unlink(parent.dir.at(parent.name));
    return true;
  } catch {
    return false;
  } finally {
    await parent.dir.close();
  }
}

/** Creates the folder `rel` (and its parents) for a folder marker; false when something is in the way. */
export async function makeFolder(root: DirHandle, rel: string, ids: OwnerIds | null): Promise<boolean> {
  try {
    const dir = await openDir(root, rel.split('/'), true, ids);
    await dir?.close();
    return dir !== null;
  } catch {
    return false;
  }
}
