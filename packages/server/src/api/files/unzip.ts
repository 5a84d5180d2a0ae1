import { open as openFile } from 'node:fs/promises';
import { Transform } from 'node:stream';
import { PlatformError } from '@hangar/core';
import yauzl, { type Entry, type ZipFile } from 'yauzl';
import { writeNewFile } from './atomic-write.js';
import { type DirHandle, type OwnerIds, openDir } from './dir-handle.js';
import { TEMP_PREFIX } from './safe-path.js';

/** Caps that stop zip bombs: how many entries and how many uncompressed bytes in total. */
export interface ZipLimits {
  maxEntries: number;
  maxTotalBytes: number;
}

const S_IFMT = 0o170000;
const ALLOWED_TYPES = new Set([0, 0o100000, 0o040000]);

function rejected(name: string, why: string): PlatformError {
  return new PlatformError('FILES_ZIP_INVALID', `Archive entry "${name}" rejected: ${why}`);
}

/** Validates an archive entry name and returns its segments (a trailing `/` marks a folder). */
export function checkEntryName(name: string): string[] {
  if (name.includes('\\')) throw rejected(name, 'backslashes are not allowed');
  if (/[\u0000-\u001f\u007f]/.test(name)) throw rejected(name, 'control characters are not allowed');
  if (name.startsWith('/') || /^[a-z]:/i.test(name)) throw rejected(name, 'absolute paths are not allowed');
  const segments = name.split('/').filter((s) => s !== '');
  if (segments.length === 0) throw rejected(name, 'empty name');
  for (const s of segments) {
    if (s === '.' || s === '..') throw rejected(name, '"." and ".." segments are not allowed');
    if (s.startsWith(TEMP_PREFIX)) throw rejected(name, `names starting with ${TEMP_PREFIX} are reserved`);
    if (Buffer.byteLength(s) > 255) throw rejected(name, 'a name is longer than 255 bytes');
  }
  return segments;
}

/** Refuses symlinks, devices and other non-regular entries (Unix mode in the high external bits). */
function checkEntryType(entry: Entry): void {
  const type = (entry.externalFileAttributes >>> 16) & S_IFMT;
  if (!ALLOWED_TYPES.has(type)) {
    const what = type === 0o120000 ? 'symbolic links are not allowed' : 'only files and folders are allowed';
    throw rejected(entry.fileName, what);
  }
}

/** True when the file starts with a ZIP signature (local header or an empty archive's end record). */
export async function looksLikeZip(path: string): Promise<boolean> {
  const fh = await openFile(path, 'r');
  try {
    const { buffer, bytesRead } = await fh.read(Buffer.alloc(4), 0, 4, 0);
    if (bytesRead < 4) return false;
    const sig = buffer.readUInt32LE(0);
    return sig === 0x04034b50 || sig === 0x06054b50;
  } finally {
    await fh.close();
  }
}

async function openZip(path: string): Promise<ZipFile> {
  try {
    return await yauzl.openPromise(path, {
      lazyEntries: true,
      autoClose: false,
      strictFileNames: true,
      validateEntrySizes: true,
    });
  } catch (err) {
    throw new PlatformError('FILES_ZIP_INVALID', `Archive rejected: ${(err as Error).message}`);
  }
}

/** What an extraction writes with: the ids new entries get, and the quota charge for what they hold. */
export interface ExtractTarget {
  ids: OwnerIds | null;
  /** Holds storage for the extraction; throws FILES_QUOTA_EXCEEDED when the quota would be crossed. */
  charge(bytes: number, files: number): void;
}

/**
 * Extracts the archive at `zipPath` into the open (fresh, empty) folder `dest`. Every entry is checked
 * and the declared totals are charged before anything is written; real decompressed bytes are counted
 * too, since declared sizes in a hostile archive can lie.
 */
export async function extractZip(
  zipPath: string,
  dest: DirHandle,
  limits: ZipLimits,
  target: ExtractTarget,
): Promise<void> {
  const zip = await openZip(zipPath);
  try {
    if (zip.entryCount > limits.maxEntries) {
      throw new PlatformError('FILES_ZIP_TOO_LARGE', `Archive has more than ${limits.maxEntries} entries`);
    }
    const entries: Entry[] = [];
    let declared = 0;
    for await (const entry of zip.eachEntry()) {
      checkEntryName(entry.fileName);
      checkEntryType(entry);
      declared += entry.uncompressedSize;
      if (declared > limits.maxTotalBytes) throw tooBig(limits.maxTotalBytes);
      entries.push(entry);
    }
    target.charge(declared, entries.length);
    const count = { left: limits.maxTotalBytes, declared, written: 0 };
    for (const entry of entries) await extractEntry(zip, entry, dest, count, limits.maxTotalBytes, target);
  } catch (err) {
    if (err instanceof PlatformError) throw err;
    // Filesystem errors name server paths, so only their code is shown.
    const code = (err as { code?: unknown }).code;
    const why = typeof code === 'string' ? `an entry could not be written (${code})` : (err as Error).message;
    throw new PlatformError('FILES_ZIP_INVALID', `Archive rejected: ${why}`);
  } finally {
    zip.close();
  }
}

function tooBig(maxTotal: number): PlatformError {
  return new PlatformError('FILES_ZIP_TOO_LARGE', `Archive expands to more than ${maxTotal} bytes`);
}

interface ExtractCount {
  /** Bytes the zip limit still allows. */
  left: number;
  /** Bytes declared (and already charged). */
  declared: number;
  /** Bytes really written so far. */
  written: number;
}

async function extractEntry(
  zip: ZipFile,
  entry: Entry,
  dest: DirHandle,
  count: ExtractCount,
  maxTotal: number,
  target: ExtractTarget,
): Promise<void> {
  const segments = checkEntryName(entry.fileName);
  const isDir = entry.fileName.endsWith('/');
  const dir = await openDir(dest, isDir ? segments : segments.slice(0, -1), true, target.ids);
  if (!dir) throw new PlatformError('FILES_CONFLICT');
  try {
    if (isDir) return;
    const counter = new Transform({
      transform(chunk: Buffer, _enc, done) {
        count.left -= chunk.length;
        if (count.left < 0) return done(tooBig(maxTotal));
        const before = count.written;
        count.written += chunk.length;
        // Bytes beyond what the archive declared are charged as they come.
        const excess = Math.max(0, count.written - Math.max(before, count.declared));
        try {
          if (excess > 0) target.charge(excess, 0);
        } catch (err) {
          return done(err as Error);
        }
        done(null, chunk);
      },
    });
    const stream = await zip.openReadStreamPromise(entry);
    // The pipeline reports the first failure; a later one from yauzl's inner stages must not go unheard.
    stream.on('error', () => undefined);
    try {
      await writeNewFile(dir, segments[segments.length - 1] as string, stream, [counter], target.ids);
    } finally {
      stream.destroy();
    }
  } finally {
    await dir.close();
  }
}
