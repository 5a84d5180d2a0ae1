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

/** True for the errno codes that mean "nothing there" (including a file used as a folder). */
export function isMissing(err: unknown): boolean {
  const code = (err as { code?: string }).code;
  return code === 'ENOENT' || code === 'ENOTDIR';
}
