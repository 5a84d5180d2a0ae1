import { mkdirSync } from 'node:fs';
import type { FileStore } from '@hangar/core';
import { createDiskFileStore } from '../adapters/disk/file-store.js';
import { createS3FileStore } from '../adapters/s3/file-store.js';
import type { StorageLocation } from '../storage-location.js';

/** Opens the configured object storage: a folder of this machine or an S3-compatible bucket. */
export function openFileStore(location: StorageLocation): FileStore {
  if (location.kind === 'disk') {
    mkdirSync(location.root, { recursive: true, mode: 0o700 });
    return createDiskFileStore(location.root);
  }
  return createS3FileStore(location);
}

/** How the storage is named in the start banner and logs (never credentials). */
export function describeLocation(location: StorageLocation): string {
  if (location.kind === 'disk') return `disk ${location.root}`;
  const where = location.endpoint ? ` at ${location.endpoint}` : '';
  return `s3://${location.bucket}/${location.prefix}${where}`;
}
