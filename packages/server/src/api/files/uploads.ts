import { lstat, mkdir, rm } from 'node:fs/promises';
import { type Readable, Transform } from 'node:stream';
import { PlatformError } from '@hangar/core';
import type { GuardedFetch } from '../../net/address-policy.js';
import { mergeDirectory, placeFile, tempPathIn, writeDurably, writeFileAtomically } from './atomic-write.js';
import { resolveEntryInRoot, resolveInRoot } from './safe-path.js';
import { extractZip, looksLikeZip, type ZipLimits } from './unzip.js';

/** The multipart file stream as the route hands it over; `truncated` is set when the size cap cut it. */
export type UploadStream = Readable & { truncated?: boolean };

function requireFilePath(segments: readonly string[]): void {
  if (segments.length === 0) throw new PlatformError('FILES_PATH_INVALID', 'A target file path is required');
}

/** Fails the pipeline (before anything is renamed into place) when the parser truncated the upload. */
function truncationGuard(source: UploadStream, maxBytes: number): Transform {
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

/** Stores an uploaded file at `segments`, replacing an existing file atomically. */
export async function uploadFile(
  realRoot: string,
  segments: readonly string[],
  source: UploadStream,
  maxBytes: number,
): Promise<void> {
  requireFilePath(segments);
  const target = await resolveEntryInRoot(realRoot, segments);
  await writeFileAtomically(target.abs, target.rel, source, truncationGuard(source, maxBytes));
}

/**
 * Stores an upload sent with `unzip=true`: a ZIP is extracted into the folder `segments` names
 * (created when missing, merged when present); anything else is stored as a plain file there.
 */
export async function uploadArchive(
  realRoot: string,
  segments: readonly string[],
  source: UploadStream,
  limits: ZipLimits & { maxUploadBytes: number },
): Promise<void> {
  const dir = await resolveInRoot(realRoot, segments);
  const staging = tempPathIn(realRoot, '.upload');
  await writeDurably(staging, source, truncationGuard(source, limits.maxUploadBytes));
  try {
    if (!(await looksLikeZip(staging))) {
      requireFilePath(segments);
      const target = await resolveEntryInRoot(realRoot, segments);
      return await placeFile(staging, target.abs, target.rel);
    }
    if (dir.exists && !(await lstat(dir.abs)).isDirectory()) {
      throw new PlatformError('FILES_NOT_A_DIRECTORY', `Cannot extract into ${dir.rel}: it is a file`);
    }
    const extracted = tempPathIn(realRoot);
    await mkdir(extracted);
    try {
      await extractZip(staging, extracted, limits);
      await mergeDirectory(extracted, dir.abs);
    } finally {
      await rm(extracted, { recursive: true, force: true });
    }
  } finally {
    await rm(staging, { force: true });
  }
}

/** Downloads `url` through the guarded fetch and stores it at `segments` atomically. */
export async function uploadFromUrl(
  realRoot: string,
  segments: readonly string[],
  url: string,
  fetch: GuardedFetch,
): Promise<void> {
  requireFilePath(segments);
  const target = await resolveEntryInRoot(realRoot, segments);
  const res = await fetch(url, { headers: { accept: '*/*' } });
  if (res.status < 200 || res.status > 299) {
    res.body.destroy();
    throw new PlatformError('NET_FETCH_FAILED', `The URL answered HTTP ${res.status}`);
  }
  await writeFileAtomically(target.abs, target.rel, res.body);
}
