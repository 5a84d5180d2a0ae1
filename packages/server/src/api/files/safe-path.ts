import { lstat, mkdir, realpath } from 'node:fs/promises';
import { join, sep } from 'node:path';
import { PlatformError } from '@hangar/core';

/** Prefix of in-flight temporary files and folders; hidden from listings and refused in paths. */
export const TEMP_PREFIX = '.hangar-tmp-';

const MAX_PATH_LENGTH = 4096;
const MAX_SEGMENT_BYTES = 255;

function invalid(why: string): PlatformError {
  return new PlatformError('FILES_PATH_INVALID', `Invalid file path: ${why}`);
}

/**
 * Validates the still percent-encoded path captured from a URL and returns its segments.
 * Encoded slashes, backslashes and NUL are refused before decoding so they cannot smuggle separators.
 */
export function parseRawFilePath(raw: string): string[] {
  if (/%(2f|5c|00)/i.test(raw)) throw invalid('encoded "/", "\\" or NUL');
  let decoded: string;
  try {
    decoded = decodeURIComponent(raw);
  } catch {
    throw invalid('malformed percent-encoding');
  }
  return parseFilePath(decoded);
}

/**
 * Validates a decoded path relative to the owner's root (a leading `/data/` or `data/` is accepted)
 * and returns its segments; the empty list is the root itself.
 */
export function parseFilePath(path: string): string[] {
  if (path.length > MAX_PATH_LENGTH) throw invalid('too long');
  if (path.includes('\\')) throw invalid('backslashes are not allowed');
  if (/[\u0000-\u001f\u007f]/.test(path)) throw invalid('control characters are not allowed');
  let rest = path;
  if (rest.startsWith('/')) {
    if (rest !== '/data' && !rest.startsWith('/data/'))
      throw invalid('absolute paths must start with /data/');
    rest = rest.slice('/data'.length);
  } else if (rest === 'data' || rest.startsWith('data/')) {
    rest = rest.slice('data'.length);
  }
  const segments = rest.split('/').filter((s) => s !== '');
  segments.forEach(checkSegment);
  return segments;
}

function checkSegment(segment: string, index: number): void {
  if (segment === '.' || segment === '..') throw invalid('"." and ".." segments are not allowed');
  if (/%[0-9a-f]{2}/i.test(segment)) throw invalid('percent-encoded characters after decoding');
  if (index === 0 && /^[a-z]:$/i.test(segment)) throw invalid('drive letters are not allowed');
  if (segment.startsWith(TEMP_PREFIX)) throw invalid(`names starting with ${TEMP_PREFIX} are reserved`);
  if (Buffer.byteLength(segment) > MAX_SEGMENT_BYTES) throw invalid('a name is longer than 255 bytes');
}

/** A validated path inside an owner's root. */
export interface ResolvedPath {
  /** Absolute filesystem path, symlinks of existing ancestors resolved. */
  abs: string;
  /** Path relative to the owner's root with `/` separators (`''` for the root). */
  rel: string;
  /** Whether every segment exists. */
  exists: boolean;
}

/** The owner's root, created on first use, with symlinks resolved. */
export async function openRoot(root: string): Promise<string> {
  await mkdir(root, { recursive: true });
  return realpath(root);
}

function isWithin(root: string, candidate: string): boolean {
  return candidate === root || candidate.startsWith(root.endsWith(sep) ? root : root + sep);
}

/**
 * Resolves segments under a real root path; refuses (400) when the deepest existing ancestor
 * resolves outside the root, so a symlink can never lead a request out of its tenant.
 */
export async function resolveInRoot(realRoot: string, segments: readonly string[]): Promise<ResolvedPath> {
  const rel = segments.join('/');
  try {
    const full = await realpath(join(realRoot, ...segments));
    if (!isWithin(realRoot, full)) throw invalid('it resolves outside your storage');
    return { abs: full, rel, exists: true };
  } catch (err) {
    if (err instanceof PlatformError) throw err;
    if ((err as { code?: string }).code === 'ELOOP') throw invalid('symbolic link loop');
    if (!isMissing(err)) throw err;
  }
  let current = realRoot;
  let depth = 0;
  for (; depth < segments.length; depth++) {
    const next = join(current, segments[depth] as string);
    try {
      await lstat(next);
    } catch (err) {
      if (isMissing(err)) break;
      throw err;
    }
    current = next;
  }
  const real = await realpath(current).catch((err: unknown) => {
    // A dangling symlink: its target is unknown, so it is treated as leaving the root.
    if (isMissing(err)) throw invalid('it resolves outside your storage');
    throw err;
  });
  if (!isWithin(realRoot, real)) throw invalid('it resolves outside your storage');
  return { abs: join(real, ...segments.slice(depth)), rel, exists: false };
}

/**
 * Resolves the parent like {@link resolveInRoot} but never follows the last segment, so deleting,
 * moving or replacing a symlink acts on the link itself.
 */
export async function resolveEntryInRoot(
  realRoot: string,
  segments: readonly string[],
): Promise<ResolvedPath> {
  const name = segments[segments.length - 1];
  if (name === undefined) return resolveInRoot(realRoot, segments);
  const parent = await resolveInRoot(realRoot, segments.slice(0, -1));
  const abs = join(parent.abs, name);
  const exists =
    parent.exists &&
    (await lstat(abs).then(
      () => true,
      () => false,
    ));
  return { abs, rel: segments.join('/'), exists };
}

/** True for the errno codes that mean "nothing there" (including a file used as a folder). */
export function isMissing(err: unknown): boolean {
  const code = (err as { code?: string }).code;
  return code === 'ENOENT' || code === 'ENOTDIR';
}
