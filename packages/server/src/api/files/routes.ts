import multipart from '@fastify/multipart';
import { type Clock, type FileStore, PlatformError } from '@hangar/core';
import type { FastifyReply, FastifyRequest } from 'fastify';
import { type HttpApp, principalOf } from '../../http/app.js';
import { createGuardedFetch, splitUrlAllowlist } from '../../net/address-policy.js';
import type { OwnerIds } from './dir-handle.js';
import { decodeListCursor, encodeListCursor } from './list-cursor.js';
import { createDiskOwnerFiles, type OwnerFiles } from './owner-files.js';
import type { StorageQuota } from './quota.js';
import { parseFilePath, parseRawFilePath } from './safe-path.js';
import {
  FileListSchema,
  ListQuery,
  MoveBody,
  OkSchema,
  UploadFromUrlBody,
  UploadLocalQuery,
  WildcardParams,
} from './schemas.js';
import { createStoreOwnerFiles, type DownloadRedirect } from './store-files.js';
import type { ZipLimits } from './unzip.js';

/** What the Files API needs: where each owner's tree lives and the safety limits. */
export interface FileDeps {
  /** The folder holding one owner's files (the tree its runners see as DATA_DIR). */
  dataRoot: (owner: string) => string;
  maxUploadBytes: number;
  urlFetch: {
    /**
     * URL prefixes (only URLs under one are fetched, private or not), and hosts, IPs or CIDRs an
     * operator allows even though they are not public.
     */
    allowlist: string[];
    timeoutMs: number;
    maxBytes: number;
    /** Host name resolver; the system resolver when absent. */
    resolve?: (hostname: string) => Promise<string[]>;
  };
  zip: ZipLimits;
  /** Per-owner storage quota every write is charged to. */
  quota: StorageQuota;
  /**
   * The uid/gid an owner's sandboxed runners run as: every file and folder the Files API creates for
   * that owner is given to them. Absent or null: new entries belong to the server's user.
   */
  ownerIds?: (owner: string) => OwnerIds | null;
  clock: Clock;
  /** Disk storage: bytes the cache of folders' sorted names may hold (0: none; 64 MiB when absent). */
  listCacheBytes?: number;
  /**
   * Owners' files in the object store (`files/<owner>/<path>`) instead of `dataRoot`: set when storage is
   * S3. `scratchDir` is where `unzip=true` uploads are extracted before their entries are stored;
   * `changed` is told after each change of an owner's files.
   */
  objects?: {
    store: FileStore;
    scratchDir: string;
    redirect: DownloadRedirect | null;
    changed?: (owner: string) => void;
  };
}

/** The Files API's backend: the object store when one is given, else the owners' folders on this disk. */
export function ownerFilesFor(deps: FileDeps): OwnerFiles {
  if (deps.objects) return createStoreOwnerFiles({ ...deps.objects, quota: deps.quota });
  return createDiskOwnerFiles({
    dataRoot: deps.dataRoot,
    ownerIds: deps.ownerIds,
    quota: deps.quota,
    listCacheBytes: deps.listCacheBytes,
  });
}

const BASE = '/v1/serverless/files';
/** The response header naming the next page of a paged listing (absent on the last page). */
export const NEXT_CURSOR_HEADER = 'x-hangar-next-cursor';
const TAGS = ['Serverless', 'Files'];

/** The still-encoded text the route's `*` matched, taken from the raw URL so `%2F` stays visible. */
function rawWildcard(request: FastifyRequest): string {
  const url = request.url;
  const query = url.indexOf('?');
  const path = query === -1 ? url : url.slice(0, query);
  const pattern = request.routeOptions.url ?? '';
  if (!pattern.endsWith('*')) return '';
  const prefix = pattern.slice(0, -1);
  if (!path.startsWith(prefix)) throw new PlatformError('FILES_PATH_INVALID', 'Invalid file path');
  return path.slice(prefix.length);
}

/** A multipart parser failure is the client's malformed body (400); the parser's own 4xx are kept. */
function malformedUpload(err: unknown): unknown {
  const status = (err as { statusCode?: unknown } | null)?.statusCode;
  if (err instanceof PlatformError || (typeof status === 'number' && status < 500)) return err;
  return new PlatformError('FILES_UPLOAD_INVALID', 'Malformed multipart/form-data body');
}

/** Registers the five fal Files operations plus delete and move, each confined to the caller's tree. */
export function registerFileRoutes(app: HttpApp, deps: FileDeps): void {
  const { prefixes, allowlist } = splitUrlAllowlist(deps.urlFetch.allowlist);
  const fetch = createGuardedFetch({
    allowlist,
    urlPrefixes: prefixes,
    timeoutMs: deps.urlFetch.timeoutMs,
    maxBytes: deps.urlFetch.maxBytes,
    resolve: deps.urlFetch.resolve,
  });
  const zipLimits = { ...deps.zip, maxUploadBytes: deps.maxUploadBytes };
  const owned = ownerFilesFor(deps);
  const ownerOf = (request: FastifyRequest) => principalOf(request).owner;

  app.register(async (scoped) => {
    const files = scoped as unknown as HttpApp;
    await files.register(multipart, { limits: { fileSize: deps.maxUploadBytes, files: 1 } });

    const list = async (
      request: FastifyRequest<{ Querystring: { limit?: number; cursor?: string } }>,
      reply: FastifyReply,
    ) => {
      const segments = parseRawFilePath(rawWildcard(request));
      const owner = ownerOf(request);
      const { limit, cursor } = request.query;
      const afterKey = cursor === undefined ? undefined : decodeListCursor(cursor, owner, segments);
      const page = await owned.list(owner, segments, { afterKey, limit });
      if (page.nextKey !== null) {
        const next = encodeListCursor(owner, segments, page.nextKey);
        const query = request.url.indexOf('?');
        const path = query === -1 ? request.url : request.url.slice(0, query);
        reply.header(NEXT_CURSOR_HEADER, next);
        reply.header('link', `<${path}?limit=${limit}&cursor=${next}>; rel="next"`);
      }
      return page.entries;
    };
    const listSchema = { tags: TAGS, querystring: ListQuery, response: { 200: FileListSchema } };
    files.get(`${BASE}/list`, { schema: { ...listSchema, operationId: 'serverlessListRoot' } }, list);
    files.get(
      `${BASE}/list/*`,
      { schema: { ...listSchema, operationId: 'serverlessListDirectory', params: WildcardParams } },
      list,
    );

    files.get(
      `${BASE}/file/*`,
      { schema: { tags: TAGS, operationId: 'serverlessDownloadFile', params: WildcardParams } },
      async (request, reply) => {
        const segments = parseRawFilePath(rawWildcard(request));
        return owned.send(request, reply, ownerOf(request), segments);
      },
    );

    files.post(
      `${BASE}/file/url/*`,
      {
        schema: {
          tags: TAGS,
          operationId: 'serverlessUploadFromUrl',
          params: WildcardParams,
          body: UploadFromUrlBody,
          response: { 200: OkSchema },
        },
      },
      async (request) => {
        const segments = parseRawFilePath(rawWildcard(request));
        await owned.uploadFromUrl(ownerOf(request), segments, request.body.url, fetch);
        return true;
      },
    );

    files.post(
      `${BASE}/file/local/*`,
      {
        schema: {
          tags: TAGS,
          operationId: 'serverlessUploadLocalFile',
          params: WildcardParams,
          querystring: UploadLocalQuery,
          response: { 200: OkSchema },
        },
      },
      async (request) => {
        const segments = parseRawFilePath(rawWildcard(request));
        if (!request.isMultipart()) throw new PlatformError('FILES_UPLOAD_INVALID');
        const part = await request
          .file({ limits: { fileSize: deps.maxUploadBytes, files: 1 } })
          .catch((err: unknown) => Promise.reject(malformedUpload(err)));
        if (part?.fieldname !== 'file_upload') {
          part?.file.resume();
          throw new PlatformError('FILES_UPLOAD_INVALID');
        }
        try {
          await (request.query.unzip
            ? owned.uploadArchive(ownerOf(request), segments, part.file, zipLimits)
            : owned.upload(ownerOf(request), segments, part.file, deps.maxUploadBytes));
        } catch (err) {
          // Unread, the rest of the body would stall this keep-alive connection for good.
          part.file.unpipe();
          part.file.resume();
          // The part's own stream failing means the body broke off mid-part, whatever the write saw.
          throw part.file.errored ? malformedUpload(err) : err;
        }
        return true;
      },
    );

    files.delete(
      `${BASE}/file/*`,
      { schema: { tags: TAGS, operationId: 'hangarDeleteFile', params: WildcardParams } },
      async (request, reply) => {
        const segments = parseRawFilePath(rawWildcard(request));
        await owned.delete(ownerOf(request), segments);
        return reply.status(204).send();
      },
    );

    files.post(
      `${BASE}/move/*`,
      {
        schema: {
          tags: TAGS,
          operationId: 'hangarMoveFile',
          params: WildcardParams,
          body: MoveBody,
          response: { 200: OkSchema },
        },
      },
      async (request) => {
        const from = parseRawFilePath(rawWildcard(request));
        const to = parseFilePath(request.body.destination);
        await owned.move(ownerOf(request), from, to);
        return true;
      },
    );
  });
}
