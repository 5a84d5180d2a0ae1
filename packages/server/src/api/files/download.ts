import type { Stats } from 'node:fs';
import { constants, type FileHandle, open } from 'node:fs/promises';
import { PlatformError } from '@hangar/core';
import type { FastifyReply, FastifyRequest } from 'fastify';
import { type DirHandle, errnoOf, openDir, throughLink } from './dir-handle.js';
import { isMissing } from './safe-path.js';

/** An inclusive byte range of a file. */
export interface ByteRange {
  start: number;
  end: number;
}

function unsatisfiable(size: number, why: string): PlatformError {
  return new PlatformError('FILES_RANGE_NOT_SATISFIABLE', `Requested range not satisfiable: ${why}`, {
    'content-range': `bytes */${size}`,
  });
}

/**
 * Parses a `Range` header for a file of `size` bytes: null means "send everything" (no header, or
 * several ranges, which we answer in full); a malformed or unsatisfiable single range throws 416.
 */
export function parseRange(header: string | undefined, size: number): ByteRange | null {
  if (header === undefined) return null;
  const match = /^\s*bytes\s*=\s*(.*)$/i.exec(header);
  if (!match) throw unsatisfiable(size, 'only "bytes" ranges are supported');
  const spec = (match[1] ?? '').trim();
  if (spec.includes(',')) return null;
  const parts = /^(\d*)-(\d*)$/.exec(spec);
  if (!parts || (parts[1] === '' && parts[2] === '')) throw unsatisfiable(size, `malformed range "${spec}"`);
  const [, first = '', last = ''] = parts;
  if (first === '') {
    const suffix = Number(last);
    if (suffix === 0 || size === 0) throw unsatisfiable(size, 'empty suffix range');
    return { start: Math.max(0, size - suffix), end: size - 1 };
  }
  const start = Number(first);
  const end = last === '' ? size - 1 : Math.min(Number(last), size - 1);
  if (last !== '' && Number(last) < start) throw unsatisfiable(size, 'range ends before it starts');
  if (start >= size) throw unsatisfiable(size, `range starts at or past the end (${size} bytes)`);
  return { start, end };
}

/** A strong validator from size and modification time, quoted as HTTP requires. */
export function etagOf(info: Stats): string {
  return `"${info.size.toString(16)}-${Math.floor(info.mtimeMs).toString(16)}"`;
}

/** True when an `If-None-Match` header names this ETag (weak comparison, `*` matches anything). */
export function etagMatches(header: string | undefined, etag: string): boolean {
  if (!header) return false;
  return header.split(',').some((t) => {
    const tag = t.trim();
    return tag === '*' || tag.replace(/^W\//, '') === etag;
  });
}

const O_READ = constants.O_RDONLY | constants.O_NOFOLLOW | constants.O_NONBLOCK;

/** Opens the file `segments` names without following a link (O_NONBLOCK: a FIFO must not hang us). */
async function openFile(
  root: DirHandle,
  segments: readonly string[],
): Promise<{ fh: FileHandle; info: Stats }> {
  const rel = segments.join('/');
  const notFound = () => new PlatformError('FILES_NOT_FOUND', `File not found: ${rel}`);
  const name = segments[segments.length - 1];
  if (name === undefined) throw new PlatformError('FILES_NOT_A_FILE', 'Not a file: /');
  const dir = await openDir(root, segments.slice(0, -1), false);
  if (!dir) throw notFound();
  let fh: FileHandle;
  try {
    fh = await open(dir.at(name), O_READ);
  } catch (err) {
    if (isMissing(err)) throw notFound();
    if (errnoOf(err) === 'ELOOP') throw throughLink();
    throw err;
  } finally {
    await dir.close();
  }
  const info = await fh.stat();
  if (!info.isFile()) {
    await fh.close();
    throw new PlatformError('FILES_NOT_A_FILE', `Not a file: ${rel}`);
  }
  return { fh, info };
}

/** Streams a file with validators and single-range support (206/304/416) from one open descriptor. */
export async function sendFile(
  request: FastifyRequest,
  reply: FastifyReply,
  root: DirHandle,
  segments: readonly string[],
) {
  const { fh, info } = await openFile(root, segments);
  try {
    const etag = etagOf(info);
    reply.header('etag', etag);
    reply.header('last-modified', new Date(info.mtimeMs).toUTCString());
    reply.header('accept-ranges', 'bytes');
    reply.header('cache-control', 'private, no-cache');
    if (etagMatches(request.headers['if-none-match'], etag)) {
      await fh.close();
      return reply.status(304).send();
    }
    const ifRange = request.headers['if-range'];
    const wantsRange = ifRange === undefined || ifRange === etag;
    const range = wantsRange ? parseRange(request.headers.range, info.size) : null;
    reply.type('application/octet-stream');
    if (range) {
      reply.status(206).header('content-range', `bytes ${range.start}-${range.end}/${info.size}`);
      reply.header('content-length', range.end - range.start + 1);
      return reply.send(fh.createReadStream({ start: range.start, end: range.end }));
    }
    reply.header('content-length', info.size);
    return reply.send(fh.createReadStream({ start: 0 }));
  } catch (err) {
    await fh.close().catch(() => undefined);
    throw err;
  }
}
