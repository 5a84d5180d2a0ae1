import { mkdir } from 'node:fs/promises';
import { finished, PassThrough, type Readable, Transform } from 'node:stream';
import { PlatformError } from '@hangar/core';
import type { GuardedFetch } from '../../net/address-policy.js';
import {
  mergeChild,
  mergeDirectory,
  placeFile,
  removeTree,
  tempName,
  writeFileAtomically,
  writeNewFile,
} from './atomic-write.js';
import {
  DirHandle,
  type OwnerIds,
  openChildDir,
  openDir,
  openExistingDir,
  throughLink,
  withDir,
} from './dir-handle.js';
import type { QuotaReservation, StorageQuota } from './quota.js';
import { extractZip, looksLikeZip, type ZipLimits } from './unzip.js';

/** The multipart file stream as the route hands it over; `truncated` is set when the size cap cut it. */
export type UploadStream = Readable & { truncated?: boolean };

/** Whose tree a write lands in, the ids its new entries get and the quota it is charged to. */
export interface WriteContext {
  root: DirHandle;
  owner: string;
  ids: OwnerIds | null;
  quota: StorageQuota;
}

function requireFilePath(segments: readonly string[]): string {
  const name = segments[segments.length - 1];
  if (name === undefined) throw new PlatformError('FILES_PATH_INVALID', 'A target file path is required');
  return name;
}

/**
 * The upload seen through a pass-through: a failing write destroys only the pass-through, so the
 * route can still drain the multipart part (a destroyed part would stall the parser and the response).
 */
export function detached(source: UploadStream): Readable {
  const through = new PassThrough();
  // The write's pipeline reports the failure (it sees `errored`), even when it starts later.
  through.on('error', () => undefined);
  // `finished` also reports a part that already failed before this write started.
  finished(source, (err) => {
    if (err) through.destroy(err);
  });
  through.once('close', () => {
    source.unpipe(through);
    source.resume();
  });
  return source.pipe(through);
}

/** Fails the pipeline (before anything is renamed into place) when the parser truncated the upload. */
export function truncationGuard(source: UploadStream, maxBytes: number): Transform {
  return new Transform({
    transform: (chunk, _enc, done) => done(null, chunk),
    flush: (done) =>
      done(
        source.truncated
          ? new PlatformError('FILES_TOO_LARGE', `File exceeds the upload size limit of ${maxBytes} bytes`)
          : null,
      ),
  });
}

/** Charges every byte streamed through it to the reservation; fails the stream once the quota is crossed. */
export function quotaMeter(reservation: QuotaReservation): Transform {
  return new Transform({
    transform(chunk: Buffer, _enc, done) {
      try {
        reservation.charge(chunk.length, 0);
      } catch (err) {
        return done(err as Error);
      }
      done(null, chunk);
    },
  });
}

/** Runs a write under a reservation of one new file: committed with what it replaced, or released. */
async function charged(
  ctx: WriteContext,
  write: (reservation: QuotaReservation) => Promise<{ bytes: number; files: number }>,
): Promise<void> {
  const reservation = await ctx.quota.reserve(ctx.owner, 0, 1);
  try {
    reservation.commit(await write(reservation));
  } finally {
    reservation.release();
  }
}

/** Streams `source` to the file `segments` names, replacing an existing file atomically. */
async function storeStream(
  ctx: WriteContext,
  segments: readonly string[],
  source: Readable,
  stages: Transform[],
): Promise<void> {
  const name = requireFilePath(segments);
  const dir = await openDir(ctx.root, segments.slice(0, -1), true, ctx.ids);
  if (!dir) throw new PlatformError('FILES_CONFLICT');
  await withDir(Promise.resolve(dir), (d) =>
    charged(ctx, (r) =>
      writeFileAtomically(d, name, segments.join('/'), source, [...stages, quotaMeter(r)], ctx.ids),
    ),
  );
}

/** Stores an uploaded file at `segments`, replacing an existing file atomically. */
export async function uploadFile(
  ctx: WriteContext,
  segments: readonly string[],
  source: UploadStream,
  maxBytes: number,
): Promise<void> {
  await storeStream(ctx, segments, detached(source), [truncationGuard(source, maxBytes)]);
}

/** Downloads `url` through the guarded fetch and stores it at `segments` atomically. */
export async function uploadFromUrl(
  ctx: WriteContext,
  segments: readonly string[],
  url: string,
  fetch: GuardedFetch,
): Promise<void> {
  requireFilePath(segments);
  const res = await fetch(url, { headers: { accept: '*/*' } });
  if (res.status < 200 || res.status > 299) {
    res.body.destroy();
    throw new PlatformError('NET_FETCH_FAILED', `The URL answered HTTP ${res.status}`);
  }
  try {
    await storeStream(ctx, segments, res.body, []);
  } finally {
    res.body.destroy();
  }
}

/**
 * Stores an upload sent with `unzip=true`: a ZIP is extracted into the folder `segments` names
 * (created when missing, merged when present); anything else is stored as a plain file there.
 * The archive is staged in the root first; an extraction counts in full against the quota.
 */
export async function uploadArchive(
  ctx: WriteContext,
  segments: readonly string[],
  source: UploadStream,
  limits: ZipLimits & { maxUploadBytes: number },
): Promise<void> {
  const staging = tempName('.upload');
  const held = await ctx.quota.reserve(ctx.owner, 0, 1);
  try {
    await writeNewFile(
      ctx.root,
      staging,
      detached(source),
      [truncationGuard(source, limits.maxUploadBytes), quotaMeter(held)],
      ctx.ids,
    );
    if (!(await looksLikeZip(ctx.root.at(staging)))) {
      const name = requireFilePath(segments);
      const dir = await openDir(ctx.root, segments.slice(0, -1), true, ctx.ids);
      if (!dir) throw new PlatformError('FILES_CONFLICT');
      const replaced = await withDir(Promise.resolve(dir), (d) =>
        placeFile(ctx.root, staging, d, name, segments.join('/')),
      );
      held.commit(replaced);
      return;
    }
    await extractInto(ctx, segments, staging, limits);
  } finally {
    held.release();
    await removeTree(ctx.root, staging);
  }
}

async function extractInto(
  ctx: WriteContext,
  segments: readonly string[],
  staging: string,
  limits: ZipLimits,
): Promise<void> {
  const existing = await openExistingDir(ctx.root, segments);
  if (existing instanceof DirHandle) await existing.close();
  if (existing === 'file') {
    throw new PlatformError(
      'FILES_NOT_A_DIRECTORY',
      `Cannot extract into ${segments.join('/')}: it is a file`,
    );
  }
  const extracted = tempName();
  await mkdir(ctx.root.at(extracted), 0o755);
  const reservation = await ctx.quota.reserve(ctx.owner, 0, 0);
  try {
    const dest = await openChildDir(ctx.root, extracted);
    if (!(dest instanceof DirHandle)) throw new PlatformError('FILES_CONFLICT');
    await withDir(Promise.resolve(dest), async (d) => {
      await d.chown(ctx.ids);
      await extractZip(ctx.root.at(staging), d, limits, { ids: ctx.ids, charge: reservation.charge });
    });
    await placeExtracted(ctx, segments, extracted);
    reservation.commit();
    // A merge may replace files: the next check measures again rather than guess.
    ctx.quota.invalidate(ctx.owner);
  } finally {
    reservation.release();
    await removeTree(ctx.root, extracted);
  }
}

/** Moves the extracted folder to `segments`: renamed into place when missing, merged otherwise. */
async function placeExtracted(ctx: WriteContext, segments: readonly string[], extracted: string) {
  const name = segments[segments.length - 1];
  if (name === undefined) {
    const from = await openChildDir(ctx.root, extracted);
    if (!(from instanceof DirHandle)) throw new PlatformError('FILES_CONFLICT');
    await withDir(Promise.resolve(from), async (f) => {
      const root = await openDir(ctx.root, [], false);
      if (root) await withDir(Promise.resolve(root), (r) => mergeDirectory(f, r));
    });
    return;
  }
  const parent = await openDir(ctx.root, segments.slice(0, -1), true, ctx.ids);
  if (!parent) throw new PlatformError('FILES_CONFLICT');
  await withDir(Promise.resolve(parent), async (p) => {
    const there = await openChildDir(p, name);
    if (there === 'file') {
      throw new PlatformError(
        'FILES_NOT_A_DIRECTORY',
        `Cannot extract into ${segments.join('/')}: it is a file`,
      );
    }
    if (there === 'link') throw throughLink();
    if (there instanceof DirHandle) await there.close();
    await mergeChild(ctx.root, extracted, p, name);
  });
}
