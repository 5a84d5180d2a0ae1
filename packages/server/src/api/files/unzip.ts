import { open as openFile } from 'node:fs/promises';
import { join } from 'node:path';
import { Transform } from 'node:stream';
import { PlatformError } from '@hangar/core';
import yauzl, { type Entry, type ZipFile } from 'yauzl';
import { ensureDirectory, writeDurably } from './atomic-write.js';
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

/**
 * Extracts the archive at `zipPath` into the (fresh, empty) folder `dest`, checking every entry
 * and counting real decompressed bytes, since declared sizes in a hostile archive can lie.
 */
export async function extractZip(zipPath: string, dest: string, limits: ZipLimits): Promise<void> {
  const zip = await openZip(zipPath);
  try {
    if (zip.entryCount > limits.maxEntries) {
      throw new PlatformError('FILES_ZIP_TOO_LARGE', `Archive has more than ${limits.maxEntries} entries`);
    }
    const budget = { left: limits.maxTotalBytes };
    for await (const entry of zip.eachEntry()) {
      await extractEntry(zip, entry, dest, budget, limits.maxTotalBytes);
    }
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

async function extractEntry(
  zip: ZipFile,
  entry: Entry,
  dest: string,
  budget: { left: number },
  maxTotal: number,
): Promise<void> {
  const segments = checkEntryName(entry.fileName);
  checkEntryType(entry);
  const tooBig = () =>
    new PlatformError('FILES_ZIP_TOO_LARGE', `Archive expands to more than ${maxTotal} bytes`);
  if (entry.uncompressedSize > budget.left) throw tooBig();
  const target = join(dest, ...segments);
  if (entry.fileName.endsWith('/')) {
    await ensureDirectory(target);
    return;
  }
  await ensureDirectory(join(dest, ...segments.slice(0, -1)));
  const counter = new Transform({
    transform(chunk: Buffer, _enc, done) {
      budget.left -= chunk.length;
      done(budget.left < 0 ? tooBig() : null, chunk);
    },
  });
  const stream = await zip.openReadStreamPromise(entry);
  try {
    await writeDurably(target, stream, counter);
  } finally {
    stream.destroy();
  }
}
