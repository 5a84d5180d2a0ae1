import { readdir } from 'node:fs/promises';
import { sortKeys } from '../../storage/keys.js';
import type { DirHandle } from './dir-handle.js';
import { sortKeyOf } from './list-cursor.js';
import { TEMP_PREFIX } from './safe-path.js';

// Listing a page of a folder of 100,000 entries must not read all 100,000 names each time. This cache
// keeps a folder's sorted names, keyed by owner and the folder's identity (device + inode), and trusts
// them only while the folder's ctime and mtime (nanoseconds) are the ones seen before the names were
// read: creating, removing or renaming an entry changes both, and ctime cannot be set back by anyone
// but the clock. A timestamp has a granularity (a kernel tick, a second or two on some filesystems), so
// a change just after the names were read could keep the same time: names read less than
// SETTLE_MS after the folder's last change are used once and never cached. Only names are cached;
// every entry served is stat-ed again, so sizes and times are always current.

/** Names read this long after the folder's last change are cached: covers 1-2 s timestamp granularity. */
export const SETTLE_MS = 2_000;

/** Rough bytes one cached name holds (string header, array slot, map share), beyond its characters. */
const ENTRY_OVERHEAD = 56;

/** A folder's visible entries as sort keys in listing order (a folder's key ends in `/`). */
export type FolderKeys = readonly string[];

/** Reads the sorted names of opened folders, from a cache when the folder has not changed. */
export interface FolderNames {
  read(owner: string, dir: DirHandle): Promise<FolderKeys>;
}

interface Cached {
  ctimeNs: bigint;
  mtimeNs: bigint;
  keys: FolderKeys;
  bytes: number;
}

/**
 * A per-process LRU of folders' sorted names holding at most about `maxBytes` (0: no caching). Entries
 * are never shared across owners. `now` is the wall clock (epoch ms) the folders' times are compared to.
 */
export function createFolderNames(maxBytes: number, now: () => number = Date.now): FolderNames {
  const cache = new Map<string, Cached>();
  let total = 0;
  const drop = (id: string) => {
    const old = cache.get(id);
    if (old) total -= old.bytes;
    cache.delete(id);
  };
  return {
    async read(owner, dir) {
      const st = await dir.stat();
      const id = `${owner}\0${st.dev}:${st.ino}`;
      const hit = cache.get(id);
      if (hit && hit.ctimeNs === st.ctimeNs && hit.mtimeNs === st.mtimeNs) {
        cache.delete(id);
        cache.set(id, hit);
        return hit.keys;
      }
      // The clock is read before the names: only a folder unchanged for SETTLE_MS before then is cached.
      const readAt = now();
      const keys = await readKeys(dir);
      drop(id);
      const changedAt = Math.max(Number(st.ctimeNs / 1_000_000n), Number(st.mtimeNs / 1_000_000n));
      if (maxBytes <= 0 || readAt - changedAt < SETTLE_MS) return keys;
      const bytes = keys.reduce((n, k) => n + 2 * k.length + ENTRY_OVERHEAD, 0);
      if (bytes > maxBytes) return keys;
      cache.set(id, { ctimeNs: st.ctimeNs, mtimeNs: st.mtimeNs, keys, bytes });
      total += bytes;
      for (const oldest of cache.keys()) {
        if (total <= maxBytes) break;
        drop(oldest);
      }
      return keys;
    },
  };
}

/** The folder's files and subfolders as sort keys, sorted; temporary entries, links and others left out. */
async function readKeys(dir: DirHandle): Promise<FolderKeys> {
  const dirents = await readdir(dir.path, { withFileTypes: true });
  const keys: string[] = [];
  for (const d of dirents) {
    if (d.name.startsWith(TEMP_PREFIX)) continue;
    if (d.isFile()) keys.push(d.name);
    else if (d.isDirectory()) keys.push(sortKeyOf(d.name, false));
  }
  return sortKeys(keys);
}
