// Fixes to s3rver 3.7.1's multipart uploads, loaded by s3rver-main.test-helper.mjs, so the S3 adapter's
// multipart copy runs against S3's documented behaviour:
// - UploadPartCopy (`PUT ?partNumber&uploadId` with `x-amz-copy-source`, optional
//   `x-amz-copy-source-range: bytes=first-last` and `x-amz-copy-source-if-match`/`-if-none-match`):
//   s3rver answers NotImplemented. Added here: the range of the source is streamed into the part.
// - AbortMultipartUpload (`DELETE ?uploadId`): s3rver answers MethodNotAllowed. Added: the upload's
//   parts are removed, NoSuchUpload when there is none.
// - The ETag of a completed multipart upload: s3rver gives the MD5 of the whole object; S3 gives the
//   MD5 of the parts' binary MD5s followed by `-<number of parts>`. Replaced with S3's form.

import { createHash } from 'node:crypto';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { rm } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { join } from 'node:path';

const require = createRequire(import.meta.url);
const FilesystemStore = require('s3rver/lib/stores/filesystem.js');
const S3Error = require('s3rver/lib/models/error.js');
const router = require('s3rver/lib/routes.js');

const uploadDir = (store, bucket, uploadId) =>
  join(store.getResourcePath(bucket, undefined, 'uploads'), String(uploadId));

function requireUpload(store, bucket, uploadId) {
  const dir = uploadDir(store, bucket, uploadId);
  if (!/^[0-9a-f]+$/.test(String(uploadId)) || !existsSync(join(dir, 'key')))
    throw new S3Error(
      'NoSuchUpload',
      'The specified upload does not exist. The upload ID may be invalid, or the upload may have been aborted or completed.',
      { UploadId: uploadId },
    );
  return dir;
}

/** `bucket/key` of `x-amz-copy-source`, each segment URL-decoded as S3 does (a `?versionId` is not supported). */
function copySource(header) {
  const path = header.startsWith('/') ? header.slice(1) : header;
  const [bucket, ...key] = path.split('/').map(decodeURIComponent);
  return { bucket, key: key.join('/') };
}

async function uploadPartCopy(ctx) {
  const { bucket } = ctx.params;
  const { uploadId, partNumber } = ctx.query;
  requireUpload(ctx.store, bucket, uploadId);
  const src = copySource(ctx.headers['x-amz-copy-source']);
  const meta = await ctx.store.getMetadata(src.bucket, src.key).catch(() => null);
  if (!meta) throw new S3Error('NoSuchKey', 'The specified key does not exist.', { Key: src.key });
  const etag = meta.etag.replace(/"/g, '');
  const ifMatch = ctx.headers['x-amz-copy-source-if-match'];
  const ifNoneMatch = ctx.headers['x-amz-copy-source-if-none-match'];
  if (
    (ifMatch !== undefined && ifMatch.replace(/"/g, '') !== etag) ||
    (ifNoneMatch !== undefined && ifNoneMatch.replace(/"/g, '') === etag)
  )
    throw new S3Error('PreconditionFailed', 'At least one of the pre-conditions you specified did not hold', {
      Condition: ifMatch !== undefined ? 'x-amz-copy-source-If-Match' : 'x-amz-copy-source-If-None-Match',
    });
  const size = Number(meta['content-length']);
  let start = 0;
  let end = size - 1;
  const range = ctx.headers['x-amz-copy-source-range'];
  if (range !== undefined) {
    const m = /^bytes=(\d+)-(\d+)$/.exec(range);
    if (!m)
      throw new S3Error(
        'InvalidArgument',
        'The x-amz-copy-source-range value must be of the form bytes=first-last where first and last are the zero-based offsets of the first and last bytes to copy',
      );
    start = Number(m[1]);
    end = Number(m[2]);
    if (start > end || end >= size)
      throw new S3Error('InvalidRange', `Range specified is not valid for source object of size: ${size}`);
  }
  const object = await ctx.store.getObject(src.bucket, src.key, { start, end });
  const { md5 } = await ctx.store.putPart(bucket, uploadId, partNumber, object.content);
  ctx.body = { CopyPartResult: { LastModified: new Date().toISOString(), ETag: JSON.stringify(md5) } };
}

async function abortMultipartUpload(ctx) {
  const dir = requireUpload(ctx.store, ctx.params.bucket, ctx.query.uploadId);
  await rm(dir, { recursive: true, force: true });
  ctx.status = 204;
}

/** Runs `handler` instead of s3rver's own route for `method path` when `when(ctx)` holds. */
function routeBefore(method, path, when, handler) {
  const layer = router.stack.find((l) => l.path === path && l.methods.includes(method));
  if (!layer) throw new Error(`s3rver has no route ${method} ${path}`);
  const original = layer.stack[layer.stack.length - 1];
  layer.stack[layer.stack.length - 1] = (ctx, next) => (when(ctx) ? handler(ctx) : original(ctx, next));
}

routeBefore(
  'PUT',
  '/:bucket/:key+',
  (ctx) => ctx.params.queryMethod === 'uploadId' && 'x-amz-copy-source' in ctx.headers,
  uploadPartCopy,
);
routeBefore('DELETE', '/:bucket/:key+', (ctx) => ctx.params.queryMethod === 'uploadId', abortMultipartUpload);

const putObjectMultipart = FilesystemStore.prototype.putObjectMultipart;
FilesystemStore.prototype.putObjectMultipart = async function multipartEtag(bucket, uploadId, parts) {
  const dir = uploadDir(this, bucket, uploadId);
  const key = readFileSync(join(dir, 'key'), 'utf8');
  const digests = [...parts]
    .sort((a, b) => a.number - b.number)
    .map((p) => Buffer.from(readFileSync(join(dir, `${p.number}.md5`), 'utf8'), 'hex'));
  const result = await putObjectMultipart.call(this, bucket, uploadId, parts);
  const md5 = `${createHash('md5').update(Buffer.concat(digests)).digest('hex')}-${parts.length}`;
  writeFileSync(this.getResourcePath(bucket, key, 'object.md5'), md5);
  return { ...result, md5 };
};
