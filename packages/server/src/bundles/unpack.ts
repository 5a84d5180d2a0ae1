import {
  chmodSync,
  createReadStream,
  createWriteStream,
  mkdirSync,
  symlinkSync,
  type WriteStream,
} from 'node:fs';
import { chmod, lstat, mkdir, readdir, realpath, rm } from 'node:fs/promises';
import { dirname, isAbsolute, join, resolve, sep } from 'node:path';
import { pipeline } from 'node:stream';
import { finished } from 'node:stream/promises';
import { createGunzip } from 'node:zlib';
import { type BundleLimits, PlatformError } from '@hangar/core';
import { Parser, type ReadEntry } from 'tar';

/** What an unpack wrote. */
export interface UnpackResult {
  entries: number;
  bytes: number;
}

/** Tar bytes allowed per entry on top of the file contents (header, pax record, padding). */
const ENTRY_OVERHEAD_BYTES = 8 * 1024;
const SERVER_FAULTS = new Set(['ENOSPC', 'EDQUOT', 'EMFILE', 'ENFILE', 'EACCES', 'EROFS']);
const FILE_TYPES = new Set(['File', 'OldFile', 'ContiguousFile']);
const TYPE_NAMES: Record<string, string> = {
  Link: 'hard link',
  CharacterDevice: 'character device',
  BlockDevice: 'block device',
  FIFO: 'FIFO',
};

const invalid = (message: string) => new PlatformError('BUNDLE_INVALID', message);

/**
 * Unpacks the gzip'd tar `archive` into `dest` (created here; it must not exist). Only files, folders and
 * symlinks that resolve inside the tree are accepted; paths with `..`, absolute paths, hard links,
 * devices and FIFOs are refused, as are entries reached through a symlink. Modes become 0755 (folders
 * and executables) or 0644. The caps are enforced while streaming. On any refusal `dest` is removed and a
 * `BUNDLE_INVALID` or `BUNDLE_TOO_LARGE` error names the entry (a path inside the bundle).
 */
export async function unpackBundle(
  archive: string,
  dest: string,
  limits: BundleLimits,
): Promise<UnpackResult> {
  await mkdir(dest, { mode: 0o755 });
  try {
    const result = await extract(archive, dest, limits);
    await finishTree(dest);
    return result;
  } catch (err) {
    await rm(dest, { recursive: true, force: true });
    if (err instanceof PlatformError) throw err;
    // A full disk is the server's failure (500, logged), not the bundle's.
    if (SERVER_FAULTS.has((err as NodeJS.ErrnoException).code ?? '')) throw err;
    throw invalid('the bundle is not a valid gzip-compressed tar archive');
  }
}

async function extract(archive: string, dest: string, limits: BundleLimits): Promise<UnpackResult> {
  const open = new Set<WriteStream>();
  const state = { entries: 0, bytes: 0, seen: new Set<string>(), links: new Set<string>(), open };
  const writes: Promise<void>[] = [];
  let failure: unknown = null;
  const parser = new Parser({ strict: true, zstd: false, brotli: false, maxMetaEntrySize: 64 * 1024 });
  let stop = () => {};
  const stopped = new Promise<void>((res) => {
    stop = res;
  });
  const fail = (err: unknown) => {
    failure ??= err;
    for (const out of open) out.destroy();
    stop();
  };
  parser.on('error', fail);
  parser.on('entry', (entry: ReadEntry) => {
    if (failure) return void entry.resume();
    try {
      const write = place(entry, dest, limits, state);
      if (write) writes.push(write.catch(fail));
    } catch (err) {
      entry.resume();
      fail(err);
    }
  });
  const done = new Promise<void>((res) => parser.on('end', res));
  const maxTarBytes = limits.maxUnpackedBytes + limits.maxFiles * ENTRY_OVERHEAD_BYTES;
  let tarBytes = 0;
  const gunzip = pipeline(createReadStream(archive), createGunzip(), () => {});
  try {
    for await (const chunk of gunzip as AsyncIterable<Buffer>) {
      if (tarBytes === 0 && chunk[0] === 0x1f && chunk[1] === 0x8b)
        throw invalid('nested compression is not allowed');
      tarBytes += chunk.length;
      if (tarBytes > maxTarBytes) throw tooLarge(limits);
      if (failure) break;
      if (!parser.write(chunk))
        await Promise.race([new Promise((res) => parser.once('drain', res)), stopped]);
    }
  } catch (err) {
    fail(err);
  }
  if (!failure) {
    parser.end();
    await Promise.race([done, stopped]);
  }
  await Promise.all(writes);
  if (failure) throw failure;
  return { entries: state.entries, bytes: state.bytes };
}

interface PlaceState {
  entries: number;
  bytes: number;
  seen: Set<string>;
  links: Set<string>;
  /** File writes in progress (destroyed when the unpack fails). */
  open: Set<WriteStream>;
}

/** Validates one entry and creates it; returns the pending write of a file's contents. */
function place(entry: ReadEntry, dest: string, limits: BundleLimits, s: PlaceState): Promise<void> | null {
  const rel = entryPath(entry.path);
  if (++s.entries > limits.maxFiles) throw tooLarge(limits);
  if (rel === null) {
    entry.resume();
    return null;
  }
  if (s.seen.has(rel)) throw invalid(`"${rel}" appears twice in the bundle`);
  const parts = rel.split('/');
  for (let i = 1; i < parts.length; i++)
    if (s.links.has(parts.slice(0, i).join('/'))) throw invalid(`"${rel}" lies under a symlink`);
  s.seen.add(rel);
  const abs = join(dest, rel);
  const type = String(entry.type);
  if (type === 'Directory') {
    mkdirSync(abs, { recursive: true, mode: 0o755 });
    entry.resume();
    return null;
  }
  if (type === 'SymbolicLink') {
    const target = entry.linkpath ?? '';
    const resolved = resolve(dirname(abs), target);
    if (!target || target.includes('\0') || isAbsolute(target) || !inside(dest, resolved))
      throw invalid(`symlink "${rel}" points outside the bundle`);
    mkdirSync(dirname(abs), { recursive: true, mode: 0o755 });
    symlinkSync(target, abs);
    s.links.add(rel);
    entry.resume();
    return null;
  }
  if (!FILE_TYPES.has(type)) {
    const name = TYPE_NAMES[type] ?? `"${type}" entry`;
    throw invalid(`"${rel}" is a ${name}; a bundle holds only files, folders and symlinks`);
  }
  s.bytes += entry.size;
  if (s.bytes > limits.maxUnpackedBytes) throw tooLarge(limits);
  mkdirSync(dirname(abs), { recursive: true, mode: 0o755 });
  const mode = ((entry.mode ?? 0) & 0o111) !== 0 ? 0o755 : 0o644;
  const out = createWriteStream(abs, { flags: 'wx', mode });
  s.open.add(out);
  entry.pipe(out);
  return finished(out).then(
    () => {
      s.open.delete(out);
      chmodSync(abs, mode);
    },
    (err: unknown) => {
      s.open.delete(out);
      throw err;
    },
  );
}

/** The entry's path relative to the tree, or null for the root itself; refuses traversal and absolute paths. */
function entryPath(raw: string): string | null {
  const shown = raw.length > 200 ? `${raw.slice(0, 200)}…` : raw;
  if (raw.includes('\0')) throw invalid('an entry name holds a NUL byte');
  if (raw.startsWith('/') || /^[A-Za-z]:/.test(raw) || raw.includes('\\'))
    throw invalid(`"${shown}" is an absolute path`);
  const parts = raw.split('/').filter((p) => p !== '' && p !== '.');
  if (parts.includes('..')) throw invalid(`"${shown}" leaves the bundle (..)`);
  return parts.length > 0 ? parts.join('/') : null;
}

function inside(root: string, path: string): boolean {
  return path === root || path.startsWith(root + sep);
}

function tooLarge(limits: BundleLimits): PlatformError {
  return new PlatformError(
    'BUNDLE_TOO_LARGE',
    `the bundle unpacks to more than ${limits.maxUnpackedBytes} bytes or ${limits.maxFiles} entries`,
  );
}

/**
 * Sets every folder to 0755 (umask-free) and checks, once the whole tree exists, that each symlink really
 * resolves inside it (a link through another link can leave a tree its text seemed to stay in).
 */
async function finishTree(dest: string): Promise<void> {
  const realRoot = await realpath(dest);
  const walk = async (dir: string, rel: string): Promise<void> => {
    await chmod(dir, 0o755);
    for (const name of await readdir(dir)) {
      const abs = join(dir, name);
      const path = rel ? `${rel}/${name}` : name;
      const st = await lstat(abs);
      if (st.isDirectory()) await walk(abs, path);
      else if (st.isSymbolicLink()) {
        const real = await realpath(abs).catch(() => null);
        if (real === null || !inside(realRoot, real))
          throw invalid(`symlink "${path}" points outside the bundle or to nothing`);
      }
    }
  };
  await walk(dest, '');
}
