import type { FastifyReply, FastifyRequest } from 'fastify';
import type { GuardedFetch } from '../../net/address-policy.js';
import { type OwnerIds, openRoot, translateFsError } from './dir-handle.js';
import { sendFile } from './download.js';
import { createFolderNames } from './folder-names.js';
import type { ListPage, ListWindow } from './list-cursor.js';
import { type FileEntry, listDirectory } from './listing.js';
import { deletePath, movePath } from './mutations.js';
import type { StorageQuota } from './quota.js';
import type { ZipLimits } from './unzip.js';
import { type UploadStream, uploadArchive, uploadFile, uploadFromUrl, type WriteContext } from './uploads.js';

/**
 * One owner's files, whatever holds them: the routes call only this. Paths are the validated segments
 * of `safe-path.ts` (the empty list is the owner's root). Two implementations: the owner's folder on
 * this disk ({@link createDiskOwnerFiles}) and the owner's prefix `files/<owner>/` of the object store
 * (`createStoreOwnerFiles`).
 */
export interface OwnerFiles {
  /**
   * One level of a folder, or one page of it, in S3's key order (by name, a folder as if its name ended
   * in `/`); 404 when missing, 400 when a file.
   */
  list(owner: string, segments: readonly string[], window?: ListWindow): Promise<ListPage<FileEntry>>;
  /** Answers a download (validators, one range, 304/416, or a redirect where the backend serves it). */
  send(
    request: FastifyRequest,
    reply: FastifyReply,
    owner: string,
    segments: readonly string[],
  ): Promise<unknown>;
  /** Stores a multipart file part at `segments`, replacing a file atomically. */
  upload(owner: string, segments: readonly string[], source: UploadStream, maxBytes: number): Promise<void>;
  /** Fetches `url` through the guarded fetch and stores it at `segments`. */
  uploadFromUrl(owner: string, segments: readonly string[], url: string, fetch: GuardedFetch): Promise<void>;
  /** An upload with `unzip=true`: a ZIP is extracted into the folder `segments`, anything else stored as a file. */
  uploadArchive(
    owner: string,
    segments: readonly string[],
    source: UploadStream,
    limits: ZipLimits & { maxUploadBytes: number },
  ): Promise<void>;
  /** Deletes a file or a whole folder (never the root), crediting the quota. */
  delete(owner: string, segments: readonly string[]): Promise<void>;
  /** Moves a file or folder; a file replaces a file, anything else existing at `to` is a 409. */
  move(owner: string, from: readonly string[], to: readonly string[]): Promise<void>;
}

/** What the disk implementation needs: the owners' folders, their uids and the quota. */
export interface DiskOwnerFilesDeps {
  dataRoot: (owner: string) => string;
  ownerIds?: (owner: string) => OwnerIds | null;
  quota: StorageQuota;
  /** Bytes the cache of folders' sorted names may hold (0: none); {@link LIST_CACHE_BYTES} when absent. */
  listCacheBytes?: number;
}

/** Default size of the cache of folders' sorted names: some 64 MiB, a million short names. */
export const LIST_CACHE_BYTES = 64 * 1024 * 1024;

/**
 * Owners' files as plain trees on this disk (`HANGAR_HOME/data/<owner>`, the runners' DATA_DIR), walked
 * by descriptors so no racing rename or link can lead outside the owner's folder.
 */
export function createDiskOwnerFiles(deps: DiskOwnerFilesDeps): OwnerFiles {
  const names = createFolderNames(deps.listCacheBytes ?? LIST_CACHE_BYTES);
  /** Opens the owner's root, runs `fn` in it and closes it; racing filesystem errors become 4xx. */
  async function inRoot<T>(owner: string, fn: (ctx: WriteContext) => Promise<T>): Promise<T> {
    const ids = deps.ownerIds?.(owner) ?? null;
    try {
      const root = await openRoot(deps.dataRoot(owner), ids);
      try {
        return await fn({ root, owner, ids, quota: deps.quota });
      } finally {
        await root.close();
      }
    } catch (err) {
      throw translateFsError(err);
    }
  }
  return {
    list: (owner, segments, window) =>
      inRoot(owner, (ctx) => listDirectory(ctx.root, segments, names, owner, window)),
    send: (request, reply, owner, segments) =>
      inRoot(owner, (ctx) => sendFile(request, reply, ctx.root, segments)),
    upload: (owner, segments, source, maxBytes) =>
      inRoot(owner, (ctx) => uploadFile(ctx, segments, source, maxBytes)),
    uploadFromUrl: (owner, segments, url, fetch) =>
      inRoot(owner, (ctx) => uploadFromUrl(ctx, segments, url, fetch)),
    uploadArchive: (owner, segments, source, limits) =>
      inRoot(owner, (ctx) => uploadArchive(ctx, segments, source, limits)),
    delete: (owner, segments) =>
      inRoot(owner, async (ctx) => ctx.quota.credit(owner, await deletePath(ctx.root, segments))),
    move: (owner, from, to) =>
      inRoot(owner, async (ctx) => ctx.quota.credit(owner, await movePath(ctx.root, from, to, ctx.ids))),
  };
}
