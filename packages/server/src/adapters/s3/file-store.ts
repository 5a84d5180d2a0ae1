import type { Readable } from 'node:stream';
import {
  CopyObjectCommand,
  DeleteObjectCommand,
  GetObjectCommand,
  HeadObjectCommand,
  ListObjectsV2Command,
  PutObjectCommand,
  S3Client,
  type S3ClientConfig,
} from '@aws-sdk/client-s3';
import { getSignedUrl } from '@aws-sdk/s3-request-presigner';
import {
  type FileStore,
  isKeyPrefix,
  isObjectKey,
  type ListPage,
  type ObjectInfo,
  type ObjectMeta,
  type ReadOptions,
  StoreConflict,
  StoreUnavailable,
  type WriteOptions,
} from '@hangar/core';
import { compareKeys } from '../../storage/keys.js';
import { unmetCondition } from '../disk/file-store.js';
import { copyInParts, SourceChanged } from './multipart-copy.js';
import { BodyFailed, uploadInParts } from './multipart-upload.js';

/** Where and how to reach the bucket (from `HANGAR_STORAGE_URL=s3://bucket/prefix` and friends). */
export interface S3StoreOptions {
  bucket: string;
  /** Key prefix inside the bucket, `''` or ending in `/`. */
  prefix: string;
  /** A non-AWS endpoint (MinIO, R2, Ceph, a test server); AWS's own when absent. */
  endpoint?: string;
  region: string;
  /** Path-style addressing (`endpoint/bucket/key`) instead of virtual-host (`bucket.endpoint/key`). */
  forcePathStyle: boolean;
  /** Explicit keys; the SDK's standard chain (`AWS_*` variables, profiles, instance roles) when absent. */
  credentials?: { accessKeyId: string; secretAccessKey: string; sessionToken?: string };
  /** Per-request limit: a slow backend fails the call instead of hanging it. */
  requestTimeoutMs: number;
  /** Attempts per call, with the SDK's exponential backoff and jitter between them. */
  maxAttempts: number;
  /** Size of each part of a multipart upload (S3's minimum is 5 MiB). */
  partBytes?: number;
  /**
   * Copies (and moves) of objects larger than this go through a multipart copy (`UploadPartCopy`)
   * instead of one `CopyObject`, which S3 limits to 5 GiB. Default 5 GiB; lowered in tests.
   */
  multipartCopyOverBytes?: number;
  /** Preferred part size of a multipart copy (default 512 MiB; at least 5 MiB, grown to fit 10,000 parts). */
  copyPartBytes?: number;
}

const MAX_PAGE = 1000;
const HEAD_BATCH = 16;
/** The highest code point: `after + MAX_CHAR` sorts after every key below the prefix `after`. */
const MAX_CHAR = '\u{10FFFF}';

/**
 * Objects in an S3-compatible bucket. Writes stream through the SDK's multipart upload (an object
 * appears only when its upload completes, so readers never see part of it; a failed body aborts the
 * upload). User metadata travels as `x-amz-meta-*`, its values percent-encoded so any text fits in a
 * header. Every SDK failure the caller cannot fix (network, timeout, 5xx, refused credentials) becomes
 * `StoreUnavailable`, after the SDK's own retries.
 */
export function createS3FileStore(opts: S3StoreOptions): FileStore {
  const config: S3ClientConfig = {
    region: opts.region,
    forcePathStyle: opts.forcePathStyle,
    maxAttempts: opts.maxAttempts,
    // Without `throwOnRequestTimeout` the handler only warns when a request passes its timeout, and waits on.
    requestHandler: {
      requestTimeout: opts.requestTimeoutMs,
      connectionTimeout: opts.requestTimeoutMs,
      throwOnRequestTimeout: true,
    },
  };
  if (opts.endpoint) config.endpoint = opts.endpoint;
  // A copy: the SDK tags the credentials object it is given, and the configuration's is frozen.
  if (opts.credentials) config.credentials = { ...opts.credentials };
  const client = new S3Client(config);
  const Bucket = opts.bucket;
  const root = opts.prefix;
  const partBytes = Math.max(5 << 20, opts.partBytes ?? 8 << 20);
  const copyOverBytes = opts.multipartCopyOverBytes ?? 5 * 1024 ** 3;
  const copyPartBytes = opts.copyPartBytes ?? 512 << 20;

  const full = (key: string) => {
    if (!isObjectKey(key)) throw new Error('invalid object key');
    return root + key;
  };

  async function call<T>(what: string, fn: () => Promise<T>): Promise<T> {
    try {
      return await fn();
    } catch (err) {
      throw unavailable(what, err);
    }
  }

  async function head(key: string): Promise<ObjectInfo | null> {
    const Key = full(key);
    try {
      const res = await client.send(new HeadObjectCommand({ Bucket, Key }));
      return {
        key,
        bytes: res.ContentLength ?? 0,
        etag: unquote(res.ETag),
        modifiedAt: res.LastModified?.getTime() ?? 0,
        meta: decodeMeta(res.Metadata),
      };
    } catch (err) {
      if (statusOf(err) === 404) return null;
      throw unavailable('head', err);
    }
  }

  async function put(key: string, body: AsyncIterable<Uint8Array>, meta: ObjectMeta, w?: WriteOptions) {
    const Key = full(key);
    // S3 enforces these itself (conditional writes); the check before also covers servers that do not.
    if (w?.ifNoneMatch === '*' && (await head(key)) !== null) throw new StoreConflict(key);
    if (w?.ifMatch !== undefined && (await head(key))?.etag !== w.ifMatch) throw new StoreConflict(key);
    try {
      const done = await uploadInParts(client, body, {
        Bucket,
        Key,
        Metadata: encodeMeta(meta),
        ...(w?.ifNoneMatch === '*' ? { IfNoneMatch: '*' as const } : {}),
        ...(w?.ifMatch !== undefined ? { IfMatch: quote(w.ifMatch) } : {}),
        partBytes,
        // Parts in flight while the next fills, all in a fixed 3 × partBytes of memory.
        buffers: 3,
      });
      return { key, bytes: done.bytes, etag: unquote(done.etag), modifiedAt: Date.now(), meta: { ...meta } };
    } catch (err) {
      // The caller's body failing is its own error; the upload was aborted and left nothing.
      if (err instanceof BodyFailed) throw err.reason;
      if (statusOf(err) === 412) throw new StoreConflict(key);
      throw unavailable('put', err);
    }
  }

  /** Copies `from` to `to`, answering the copy and the ETag of the source version copied. */
  async function copyObject(from: string, to: string, w?: WriteOptions) {
    const source = full(from);
    const Key = full(to);
    if (w?.ifNoneMatch === '*' && (await head(to)) !== null) throw new StoreConflict(to);
    const CopySource = `${Bucket}/${source.split('/').map(encodeURIComponent).join('/')}`;
    // Every copy is of the version just seen; one replaced meanwhile is copied again from the new one.
    for (let attempt = 1; ; attempt++) {
      try {
        const src = await client.send(new HeadObjectCommand({ Bucket, Key: source }));
        const CopySourceIfMatch = src.ETag;
        if ((src.ContentLength ?? 0) > copyOverBytes) {
          await copyInParts(client, { Bucket, Key, CopySource, source: src, partBytes: copyPartBytes }, w);
        } else {
          await client
            .send(
              new CopyObjectCommand({
                Bucket,
                Key,
                CopySource,
                CopySourceIfMatch,
                MetadataDirective: 'COPY',
              }),
            )
            .catch((err) => {
              throw statusOf(err) === 412 ? new SourceChanged() : err;
            });
        }
        const info = await head(to);
        return info && { info, sourceEtag: CopySourceIfMatch ?? '' };
      } catch (err) {
        if (err instanceof SourceChanged && attempt < 3) continue;
        const status = statusOf(err);
        if (status === 404) return null;
        if (status === 412 || err instanceof SourceChanged) throw new StoreConflict(to);
        throw unavailable('copy', err);
      }
    }
  }

  async function listPage({
    prefix,
    delimiter = false,
    after,
    limit = MAX_PAGE,
  }: Parameters<FileStore['listPage']>[0]): Promise<ListPage> {
    const page: ListPage = { objects: [], prefixes: [], next: null };
    if (!isKeyPrefix(prefix)) return page;
    const max = Math.min(Math.max(1, Math.floor(limit)), MAX_PAGE);
    // A folder returned on an earlier page is skipped whole by starting after everything inside it.
    const startAfter =
      after === undefined ? undefined : root + (after.endsWith('/') ? after + MAX_CHAR : after);
    const res = await call('list', () =>
      client.send(
        new ListObjectsV2Command({
          Bucket,
          Prefix: root + prefix,
          Delimiter: delimiter ? '/' : undefined,
          StartAfter: startAfter,
          MaxKeys: max,
        }),
      ),
    );
    for (const o of res.Contents ?? []) {
      if (!o.Key) continue;
      page.objects.push({
        key: o.Key.slice(root.length),
        bytes: o.Size ?? 0,
        etag: unquote(o.ETag),
        modifiedAt: o.LastModified?.getTime() ?? 0,
        meta: {},
      });
    }
    for (const p of res.CommonPrefixes ?? []) if (p.Prefix) page.prefixes.push(p.Prefix.slice(root.length));
    if (res.IsTruncated) {
      const lastObject = page.objects.at(-1)?.key ?? '';
      const lastPrefix = page.prefixes.at(-1) ?? '';
      page.next = compareKeys(lastObject, lastPrefix) > 0 ? lastObject : lastPrefix;
    }
    return page;
  }

  const store: FileStore = {
    kind: 's3',
    put,
    head,
    async open(key, r?: ReadOptions) {
      const Key = full(key);
      const range = r?.range;
      try {
        const res = await client.send(
          new GetObjectCommand({
            Bucket,
            Key,
            Range: range ? `bytes=${range.start}-${range.end}` : undefined,
            IfNoneMatch: r?.ifNoneMatch === undefined ? undefined : quote(r.ifNoneMatch),
            IfMatch: r?.ifMatch === undefined ? undefined : quote(r.ifMatch),
          }),
        );
        const total = totalOf(res.ContentRange) ?? res.ContentLength ?? 0;
        const info: ObjectInfo = {
          key,
          bytes: total,
          etag: unquote(res.ETag),
          modifiedAt: res.LastModified?.getTime() ?? 0,
          meta: decodeMeta(res.Metadata),
        };
        const body = res.Body as Readable;
        // Servers that ignore a condition still leave the answer to check.
        const unmet = unmetCondition(info, r);
        if (unmet) {
          body.destroy();
          return unmet;
        }
        return { info, body };
      } catch (err) {
        const status = statusOf(err);
        if (status === 404) return null;
        if (status === 304 || status === 412 || status === 416) {
          const info = await head(key);
          if (!info) return null;
          if (status === 416) return { info, body: empty() };
          return (
            unmetCondition(info, r) ?? {
              info,
              unmet: status === 304 ? 'not-modified' : 'precondition-failed',
            }
          );
        }
        throw unavailable('read', err);
      }
    },
    async delete(key) {
      const Key = full(key);
      if ((await head(key)) === null) return false;
      await call('delete', () => client.send(new DeleteObjectCommand({ Bucket, Key })));
      return true;
    },
    async *list(prefix) {
      let after: string | undefined;
      for (;;) {
        const page = await listPage({ prefix, after, limit: MAX_PAGE });
        // Listings carry no user metadata: read it per object, a few at a time.
        for (let i = 0; i < page.objects.length; i += HEAD_BATCH) {
          const infos = await Promise.all(page.objects.slice(i, i + HEAD_BATCH).map((o) => head(o.key)));
          for (const info of infos) if (info) yield info;
        }
        if (page.next === null) return;
        after = page.next;
      }
    },
    listPage,
    copy: async (from, to, w) => (await copyObject(from, to, w))?.info ?? null,
    async move(from, to) {
      const copied = await copyObject(from, to);
      if (!copied) return null;
      // Only the version that was copied is deleted: a source replaced since then stays (If-Match, and a
      // check before for servers that ignore it).
      const now = await head(from);
      if (now !== null && now.etag === unquote(copied.sourceEtag)) {
        await call('delete', async () => {
          try {
            await client.send(
              new DeleteObjectCommand({ Bucket, Key: full(from), IfMatch: copied.sourceEtag }),
            );
          } catch (err) {
            if (statusOf(err) !== 412) throw err;
          }
        });
      }
      return copied.info;
    },
    async signedUrl(key, s) {
      const Key = full(key);
      const command =
        s.method === 'PUT'
          ? new PutObjectCommand({ Bucket, Key })
          : new GetObjectCommand({
              Bucket,
              Key,
              ResponseContentDisposition:
                s.filename === undefined
                  ? undefined
                  : `attachment; filename*=UTF-8''${encodeURIComponent(s.filename)}`,
            });
      return call('sign', () => getSignedUrl(client, command, { expiresIn: s.expiresInS }));
    },
  };
  return store;
}

/** The HTTP status of an SDK error, if it carries one. */
function statusOf(err: unknown): number | undefined {
  return (err as { $metadata?: { httpStatusCode?: number } } | null)?.$metadata?.httpStatusCode;
}

function unavailable(what: string, err: unknown): Error {
  if (err instanceof StoreUnavailable || err instanceof StoreConflict) return err;
  const status = statusOf(err);
  const name = (err as { name?: string } | null)?.name ?? 'Error';
  const detail = (err as { message?: string } | null)?.message ?? '';
  return new StoreUnavailable(
    `object storage ${what} failed: ${name}${status ? ` (${status})` : ''} ${detail}`.trim(),
  );
}

function totalOf(contentRange: string | undefined): number | null {
  const m = contentRange ? /\/(\d+)$/.exec(contentRange) : null;
  return m ? Number(m[1]) : null;
}

function unquote(etag: string | undefined): string {
  return (etag ?? '').replace(/^W\//, '').replace(/^"|"$/g, '');
}

function quote(etag: string): string {
  return etag === '*' ? etag : `"${etag}"`;
}

function encodeMeta(meta: ObjectMeta): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [k, v] of Object.entries(meta)) out[k.toLowerCase()] = encodeURIComponent(v);
  return out;
}

function decodeMeta(meta: Record<string, string> | undefined): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [k, v] of Object.entries(meta ?? {})) {
    try {
      out[k] = decodeURIComponent(v);
    } catch {
      out[k] = v;
    }
  }
  return out;
}

async function* empty(): AsyncIterable<Uint8Array> {}
