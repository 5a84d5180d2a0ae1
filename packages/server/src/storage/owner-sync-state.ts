import { lchownSync, lstatSync, mkdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import type { FileStore } from '@hangar/core';
import type { OwnerIds } from '../api/files/dir-handle.js';
import { TEMP_PREFIX } from '../api/files/safe-path.js';
import { FOLDER_MARKER } from '../api/files/store-keys.js';
import type { RemoteFile, SyncedFile } from './owner-sync-plan.js';

// The owner sync's state on both sides: the owner's objects in the store, and the cache folder with the
// manifest of what the cache got from the store.

const MANIFEST_VERSION = 1;

/** The objects (path → version) and folder markers below `files/<owner>/`. */
export async function listOwner(
  objects: FileStore,
  owner: string,
): Promise<{ remote: Map<string, RemoteFile>; folders: string[] }> {
  const prefix = `files/${owner}/`;
  const remote = new Map<string, RemoteFile>();
  const folders: string[] = [];
  let after: string | undefined;
  for (;;) {
    const page = await objects.listPage({ prefix, limit: 1000, ...(after ? { after } : {}) });
    for (const o of page.objects) {
      const rel = o.key.slice(prefix.length);
      const cut = rel.lastIndexOf('/');
      const name = rel.slice(cut + 1);
      if (name === FOLDER_MARKER) {
        // The Files API's marker of a folder with nothing in it: the folder exists, the marker is no file.
        if (cut > 0) folders.push(rel.slice(0, cut));
      } else if (name.startsWith(TEMP_PREFIX)) {
        // Objects in flight under reserved names are never owner data.
      } else if (rel !== '') remote.set(rel, { etag: o.etag, bytes: o.bytes });
    }
    if (page.next === null) return { remote, folders };
    after = page.next;
  }
}

/** Creates the owner's cache folder (0700, the owner's uid); answers its identity (device, inode, birth). */
export function ensureRoot(dir: string, ids: OwnerIds | null): string {
  mkdirSync(dir, { recursive: true, mode: 0o700 });
  const st = lstatSync(dir, { bigint: true });
  if (ids && (st.uid !== BigInt(ids.uid) || st.gid !== BigInt(ids.gid))) lchownSync(dir, ids.uid, ids.gid);
  // Inode numbers are reused at once; with the birth time (where the filesystem keeps it) a new folder differs.
  return `${st.dev}:${st.ino}:${st.birthtimeNs}`;
}

export function loadManifest(path: string): { rootId: string; manifest: Map<string, SyncedFile> } {
  const none = { rootId: '', manifest: new Map<string, SyncedFile>() };
  try {
    const parsed = JSON.parse(readFileSync(path, 'utf8')) as {
      version?: number;
      root?: unknown;
      files?: unknown;
    };
    if (
      parsed.version !== MANIFEST_VERSION ||
      typeof parsed.root !== 'string' ||
      !parsed.files ||
      typeof parsed.files !== 'object'
    ) {
      return none;
    }
    const out = new Map<string, SyncedFile>();
    for (const [k, v] of Object.entries(parsed.files as Record<string, unknown>)) {
      if (Array.isArray(v) && typeof v[0] === 'string' && typeof v[1] === 'string') {
        out.set(k, { etag: v[0], sig: v[1] });
      }
    }
    return { rootId: parsed.root, manifest: out };
  } catch {
    // No manifest (or a damaged one): every cached file counts as the runner's own until published.
    return none;
  }
}

export function saveManifest(path: string, rootId: string, manifest: ReadonlyMap<string, SyncedFile>): void {
  const files: Record<string, [string, string]> = {};
  for (const [k, v] of manifest) files[k] = [v.etag, v.sig];
  const tmp = `${path}.${process.pid}.tmp`;
  writeFileSync(tmp, JSON.stringify({ version: MANIFEST_VERSION, root: rootId, files }), { mode: 0o600 });
  renameSync(tmp, path);
}
