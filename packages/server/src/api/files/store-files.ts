import { Readable } from 'node:stream';
import { type FileStore, isOpened, type ObjectInfo, PlatformError, StoreConflict } from '@hangar/core';
import type { FastifyReply, FastifyRequest } from 'fastify';
import { compareKeys } from '../../storage/keys.js';
import { NONE } from './atomic-write.js';
import { etagMatches, parseRange } from './download.js';
import { type ListPage, type ListWindow, sortKeyOf } from './list-cursor.js';
import type { FileEntry } from './listing.js';
import type { OwnerFiles } from './owner-files.js';
import type { StorageQuota, StorageUsage } from './quota.js';
import {
  checkNoFileAbove,
  FOLDER_MARKER,
  folderPrefix,
  inBatches,
  isBookkeeping,
  isFolder,
  keepParent,
  keyOf,
  walkPrefix,
} from './store-keys.js';
import { createStoreUploads } from './store-uploads.js';

/** Large downloads answered by a redirect to a signed URL of the backend. */
export interface DownloadRedirect {
  /** Files of at least this many bytes are redirected. */
  overBytes: number;
  /** Lifetime of the signed URL, in seconds. */
  expiresInS: number;
}

/** What the store implementation needs. */
export interface StoreOwnerFilesDeps {
  store: FileStore;
  quota: StorageQuota;
  /** Null: every download streams through Hangar. */
  redirect: DownloadRedirect | null;
  /** Where uploads sent with `unzip=true` are staged and extracted before their entries are stored. */
  scratchDir: string;
  /** Told after a write, delete or move changed `owner`'s files (refreshes this node's runner cache). */
  changed?: (owner: string) => void;
}

const BATCH = 16;
/** The most entries one store listing request answers (S3's maximum). */
const STORE_PAGE = 1000;
const EPOCH = new Date(0).toISOString();

/**
 * Owners' files as objects `files/<owner>/<path>` of the object store. Folders are prefixes: a folder
 * exists while any object sits below it, and a folder the API has emptied keeps a zero-byte marker
 * object ({@link FOLDER_MARKER}). Each object is written whole or not at all; several-object changes
 * (folder moves and deletes, extractions) are not atomic as a whole.
 */
export function createStoreOwnerFiles(deps: StoreOwnerFilesDeps): OwnerFiles {
  const { store } = deps;
  const uploads = createStoreUploads(deps);
  /** Runs a change, then tells `changed` (also after a failure midway, which may have changed some). */
  const changing =
    <A extends unknown[]>(fn: (owner: string, ...rest: A) => Promise<void>) =>
    async (owner: string, ...rest: A) => {
      try {
        await fn(owner, ...rest);
      } finally {
        deps.changed?.(owner);
      }
    };
  return {
    list: (owner, segments, window) => listFolder(store, owner, segments, window),
    send: (request, reply, owner, segments) => sendObject(deps, request, reply, owner, segments),
    upload: changing(uploads.upload),
    uploadFromUrl: changing(uploads.uploadFromUrl),
    uploadArchive: changing(uploads.uploadArchive),
    delete: changing(async (owner, segments: readonly string[]) => {
      deps.quota.credit(owner, await deleteEntry(store, owner, segments));
    }),
    move: changing(async (owner, from: readonly string[], to: readonly string[]) => {
      deps.quota.credit(owner, await moveEntry(store, owner, from, to));
    }),
  };
}

/**
 * One level of a folder, or one page of it, in key order: store pages are read until `limit` visible
 * entries are gathered (hidden bookkeeping objects do not count) or the folder ends.
 */
async function listFolder(
  store: FileStore,
  owner: string,
  segments: readonly string[],
  window: ListWindow = {},
): Promise<ListPage<FileEntry>> {
  const rel = segments.join('/');
  const prefix = folderPrefix(owner, segments);
  const want = window.limit ?? Number.POSITIVE_INFINITY;
  const files: ObjectInfo[] = [];
  const folders: string[] = [];
  let seen = 0;
  let after = window.afterKey === undefined ? undefined : prefix + window.afterKey;
  let next: string | null = null;
  do {
    const limit = Math.min(STORE_PAGE, want - files.length - folders.length);
    const page = await store.listPage({ prefix, delimiter: true, after, limit });
    seen += page.objects.length + page.prefixes.length;
    files.push(...page.objects.filter((o) => !isBookkeeping(o.key.slice(prefix.length))));
    folders.push(...page.prefixes.filter((p) => !isBookkeeping(p.slice(prefix.length, -1))));
    next = page.next;
    after = next ?? undefined;
  } while (next !== null && files.length + folders.length < want);
  if (segments.length > 0 && seen === 0) await checkListable(store, owner, segments, window);
  const path = (name: string) => (rel ? `${rel}/${name}` : name);
  const entries: FileEntry[] = [];
  for (const o of files) {
    const name = o.key.slice(prefix.length);
    const time = new Date(o.modifiedAt).toISOString();
    entries.push({
      path: path(name),
      name,
      created_time: time,
      updated_time: time,
      is_file: true,
      size: o.bytes,
    });
  }
  await inBatches(folders, BATCH, async (p) => {
    const name = p.slice(prefix.length, -1);
    // A folder has no time of its own; its marker's, when it has one.
    const marker = await store.head(`${p}${FOLDER_MARKER}`);
    const time = marker ? new Date(marker.modifiedAt).toISOString() : EPOCH;
    entries.push({ path: path(name), name, created_time: time, updated_time: time, is_file: false, size: 0 });
  });
  const keyOfEntry = (e: FileEntry) => sortKeyOf(e.name, e.is_file);
  entries.sort((a, b) => compareKeys(keyOfEntry(a), keyOfEntry(b)));
  return { entries, nextKey: next === null ? null : next.slice(prefix.length) };
}

/**
 * An empty listing of a folder: 400 when the path is a file, 404 when nothing is there. A later page of a
 * folder that still exists is simply empty.
 */
async function checkListable(
  store: FileStore,
  owner: string,
  segments: readonly string[],
  window: ListWindow,
): Promise<void> {
  const rel = segments.join('/');
  if (window.afterKey !== undefined && (await isFolder(store, owner, segments))) return;
  if (await store.head(keyOf(owner, segments)))
    throw new PlatformError('FILES_NOT_A_DIRECTORY', `Not a directory: ${rel}`);
  throw new PlatformError('FILES_NOT_FOUND', `Directory not found: ${rel}`);
}

/** Streams an object with validators and one range, or redirects a large one to a signed URL. */
async function sendObject(
  deps: StoreOwnerFilesDeps,
  request: FastifyRequest,
  reply: FastifyReply,
  owner: string,
  segments: readonly string[],
): Promise<unknown> {
  const rel = segments.join('/');
  const name = segments[segments.length - 1];
  if (name === undefined) throw new PlatformError('FILES_NOT_A_FILE', 'Not a file: /');
  const key = keyOf(owner, segments);
  // A replace between the stat and the read is seen (If-Match) and read again.
  for (let attempt = 0; attempt < 3; attempt++) {
    const info = await deps.store.head(key);
    if (!info) {
      if (await isFolder(deps.store, owner, segments))
        throw new PlatformError('FILES_NOT_A_FILE', `Not a file: ${rel}`);
      throw new PlatformError('FILES_NOT_FOUND', `File not found: ${rel}`);
    }
    const etag = `"${info.etag}"`;
    reply.header('etag', etag);
    reply.header('last-modified', new Date(info.modifiedAt).toUTCString());
    reply.header('accept-ranges', 'bytes');
    reply.header('cache-control', 'private, no-cache');
    if (etagMatches(request.headers['if-none-match'], etag)) return reply.status(304).send();
    if (deps.redirect && info.bytes >= deps.redirect.overBytes) {
      const url = await deps.store.signedUrl(key, { expiresInS: deps.redirect.expiresInS, filename: name });
      if (url !== null) return reply.header('cache-control', 'no-store').redirect(url, 302);
    }
    const ifRange = request.headers['if-range'];
    const wantsRange = ifRange === undefined || ifRange === etag;
    const range = wantsRange ? parseRange(request.headers.range, info.bytes) : null;
    const opened = await deps.store.open(key, { range: range ?? undefined, ifMatch: info.etag });
    if (opened === null) throw new PlatformError('FILES_NOT_FOUND', `File not found: ${rel}`);
    if (!isOpened(opened)) continue;
    reply.type('application/octet-stream');
    if (range) {
      reply.status(206).header('content-range', `bytes ${range.start}-${range.end}/${info.bytes}`);
      reply.header('content-length', range.end - range.start + 1);
    } else reply.header('content-length', info.bytes);
    // The adapters hand over Node streams: send them as they are (wrapping one costs a copy per chunk).
    const body = opened.body;
    return reply.send(body instanceof Readable ? body : Readable.from(body, { objectMode: false }));
  }
  throw new PlatformError('FILES_CONFLICT');
}

/** Deletes a file or every object below a folder; answers what was freed. */
async function deleteEntry(
  store: FileStore,
  owner: string,
  segments: readonly string[],
): Promise<StorageUsage> {
  if (segments.length === 0)
    throw new PlatformError('FILES_PATH_INVALID', 'The storage root cannot be deleted');
  const key = keyOf(owner, segments);
  const file = await store.head(key);
  const freed = { bytes: 0, files: 0 };
  if (file) {
    await store.delete(key);
    freed.bytes = file.bytes;
    freed.files = 1;
  } else {
    let found = false;
    const batch: ObjectInfo[] = [];
    const flush = () => inBatches(batch.splice(0), BATCH, async (o) => void (await store.delete(o.key)));
    for await (const o of walkPrefix(store, `${key}/`)) {
      found = true;
      if (!o.key.endsWith(`/${FOLDER_MARKER}`)) {
        freed.bytes += o.bytes;
        freed.files += 1;
      }
      batch.push(o);
      if (batch.length >= 1000) await flush();
    }
    await flush();
    if (!found) throw new PlatformError('FILES_NOT_FOUND', `Not found: ${segments.join('/')}`);
  }
  await keepParent(store, owner, segments);
  return freed;
}

/** Moves a file (replacing a file) or a folder (onto nothing); answers what the move replaced. */
async function moveEntry(
  store: FileStore,
  owner: string,
  from: readonly string[],
  to: readonly string[],
): Promise<StorageUsage> {
  if (from.length === 0 || to.length === 0)
    throw new PlatformError('FILES_PATH_INVALID', 'The storage root cannot be moved or replaced');
  const fromRel = from.join('/');
  const toRel = to.join('/');
  if (toRel.startsWith(`${fromRel}/`))
    throw new PlatformError('FILES_PATH_INVALID', 'A folder cannot be moved into itself');
  const fromKey = keyOf(owner, from);
  const toKey = keyOf(owner, to);
  const source = await store.head(fromKey);
  if (!source && !(await isFolder(store, owner, from)))
    throw new PlatformError('FILES_NOT_FOUND', `Not found: ${fromRel}`);
  if (fromRel === toRel) return NONE;
  await checkNoFileAbove(store, owner, to);
  const dest = await store.head(toKey);
  const exists = () =>
    new PlatformError('FILES_DESTINATION_EXISTS', `The destination already exists: ${toRel}`);
  if ((!source && dest) || (await isFolder(store, owner, to))) throw exists();
  // A source replaced again and again while it was copied (big files are copied in parts).
  const move = (a: string, b: string) =>
    store.move(a, b).catch((err) => {
      throw err instanceof StoreConflict ? new PlatformError('FILES_CONFLICT') : err;
    });
  if (source) {
    await move(fromKey, toKey);
  } else {
    const keys: string[] = [];
    for await (const o of walkPrefix(store, `${fromKey}/`)) keys.push(o.key);
    await inBatches(keys, BATCH, async (k) => void (await move(k, toKey + k.slice(fromKey.length))));
  }
  await keepParent(store, owner, from);
  return dest ? { bytes: dest.bytes, files: 1 } : NONE;
}
