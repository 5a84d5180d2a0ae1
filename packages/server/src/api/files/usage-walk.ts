import { lstat, opendir } from 'node:fs/promises';
import { DirHandle, errnoOf, openChildDir } from './dir-handle.js';
import type { StorageUsage } from './quota.js';

/**
 * Measures an owner's tree without following links: every entry below the root (file, folder, link,
 * in-flight temporary file) counts as one file, and regular files count their size in bytes.
 */
export async function measureTree(root: string): Promise<StorageUsage> {
  const total = { bytes: 0, files: 0 };
  let dir: DirHandle;
  try {
    dir = await DirHandle.open(root, root, true);
  } catch (err) {
    if (errnoOf(err) === 'ENOENT') return total;
    throw err;
  }
  await walk(dir, total);
  return total;
}

/** Adds what `dir` holds to `total`, then closes `dir`; entries vanishing meanwhile are skipped. */
async function walk(dir: DirHandle, total: StorageUsage): Promise<void> {
  try {
    for await (const entry of await opendir(dir.path)) {
      total.files += 1;
      if (entry.isDirectory()) {
        const child = await openChildDir(dir, entry.name).catch(() => null);
        if (child instanceof DirHandle) await walk(child, total);
      } else if (entry.isFile()) {
        const info = await lstat(dir.at(entry.name)).catch(() => null);
        if (info?.isFile()) total.bytes += info.size;
      }
    }
  } finally {
    await dir.close();
  }
}
