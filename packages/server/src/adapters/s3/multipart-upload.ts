import {
  AbortMultipartUploadCommand,
  CompleteMultipartUploadCommand,
  CreateMultipartUploadCommand,
  PutObjectCommand,
  type S3Client,
  UploadPartCommand,
} from '@aws-sdk/client-s3';

/** S3's limits: at most 10,000 parts of at least 5 MiB each (but the last). */
const MAX_PARTS = 10_000;
/** Parts per size step: the part size doubles every 1,000 parts, so 8 MiB parts reach 8 TiB. */
const PARTS_PER_STEP = 1000;

/** One streamed write. */
export interface PartUpload {
  Bucket: string;
  Key: string;
  Metadata: Record<string, string>;
  IfNoneMatch?: '*';
  /** Quoted ETag the replaced object must have. */
  IfMatch?: string;
  /** Size of the first 1,000 parts (doubling every 1,000 parts after). */
  partBytes: number;
  /** Part buffers: at most this many parts are in flight or filling at once (memory: buffers × part size). */
  buffers: number;
}

/** The body failed while it was read: the upload was aborted; `reason` is the body's own error. */
export class BodyFailed extends Error {
  constructor(readonly reason: unknown) {
    super('the body of a write failed');
    this.name = 'BodyFailed';
  }
}

/** The size of part `n` (1-based). */
export function partSizeOf(n: number, partBytes: number): number {
  return partBytes * 2 ** Math.floor((n - 1) / PARTS_PER_STEP);
}

/**
 * Streams `body` to `Key`: one PutObject when it fits in one part, else a multipart upload whose parts
 * are filled in a fixed pool of `buffers` buffers (each chunk is copied once, into its part; no
 * buffer is allocated per part), so memory stays at that pool whatever the size, and reading the body
 * waits while every buffer is in flight (backpressure). The object appears only when complete; any
 * failure aborts the upload.
 */
export async function uploadInParts(
  client: S3Client,
  body: AsyncIterable<Uint8Array>,
  u: PartUpload,
): Promise<{ etag: string; bytes: number }> {
  const free: Buffer[] = [];
  let allocated = 0;
  let wake: (() => void) | null = null;
  let failure: unknown = null;
  let uploadId: string | undefined;
  const sending: Array<Promise<void>> = [];
  const parts: Array<{ ETag: string; PartNumber: number; ChecksumCRC32?: string }> = [];
  let partNumber = 1;
  let bytes = 0;

  /** A buffer for part `n`: a free one of its size, a new one while the pool is not full, else wait. */
  async function take(n: number): Promise<Buffer> {
    const size = partSizeOf(n, u.partBytes);
    for (;;) {
      if (failure !== null) throw failure;
      const buf = free.pop();
      if (buf && buf.length === size) return buf;
      if (buf) allocated--; // a smaller part size's buffer: dropped
      if (allocated < u.buffers) {
        allocated++;
        return Buffer.allocUnsafe(size);
      }
      await new Promise<void>((r) => {
        wake = r;
      });
    }
  }

  function give(buf: Buffer) {
    free.push(buf);
    const w = wake;
    wake = null;
    w?.();
  }

  async function send(buf: Buffer, length: number, n: number) {
    if (uploadId === undefined) {
      // As lib-storage does: when the client adds CRC32 checksums to parts, the upload must declare them.
      const crc = (await client.config.requestChecksumCalculation()) === 'WHEN_SUPPORTED';
      const created = await client.send(
        new CreateMultipartUploadCommand({
          Bucket: u.Bucket,
          Key: u.Key,
          Metadata: u.Metadata,
          ...(crc ? { ChecksumAlgorithm: 'CRC32' as const } : {}),
        }),
      );
      uploadId = created.UploadId;
    }
    const task = client
      .send(
        new UploadPartCommand({
          Bucket: u.Bucket,
          Key: u.Key,
          UploadId: uploadId,
          PartNumber: n,
          Body: buf.subarray(0, length),
          ContentLength: length,
        }),
      )
      .then((res) => {
        parts.push({
          ETag: res.ETag ?? '',
          PartNumber: n,
          ...(res.ChecksumCRC32 ? { ChecksumCRC32: res.ChecksumCRC32 } : {}),
        });
        give(buf);
      })
      .catch((err) => {
        failure ??= err;
        give(buf);
      });
    sending.push(task);
  }

  let buf = await take(1);
  let filled = 0;
  try {
    const it = body[Symbol.asyncIterator]();
    for (;;) {
      let next: IteratorResult<Uint8Array>;
      try {
        next = await it.next();
      } catch (err) {
        throw new BodyFailed(err);
      }
      if (next.done) break;
      let chunk = next.value;
      bytes += chunk.length;
      while (chunk.length > 0) {
        if (filled === buf.length) {
          if (partNumber >= MAX_PARTS) throw new Error('the object needs more than 10,000 parts');
          await send(buf, filled, partNumber++);
          buf = await take(partNumber);
          filled = 0;
        }
        const n = Math.min(chunk.length, buf.length - filled);
        buf.set(chunk.subarray(0, n), filled);
        filled += n;
        chunk = chunk.subarray(n);
      }
    }
    if (uploadId === undefined) {
      const res = await client.send(
        new PutObjectCommand({
          Bucket: u.Bucket,
          Key: u.Key,
          Body: buf.subarray(0, filled),
          ContentLength: filled,
          Metadata: u.Metadata,
          IfNoneMatch: u.IfNoneMatch,
          IfMatch: u.IfMatch,
        }),
      );
      return { etag: res.ETag ?? '', bytes };
    }
    await send(buf, filled, partNumber);
    await Promise.all(sending);
    if (failure !== null) throw failure;
    const done = await client.send(
      new CompleteMultipartUploadCommand({
        Bucket: u.Bucket,
        Key: u.Key,
        UploadId: uploadId,
        MultipartUpload: { Parts: parts.sort((a, b) => a.PartNumber - b.PartNumber) },
        IfNoneMatch: u.IfNoneMatch,
        IfMatch: u.IfMatch,
      }),
    );
    return { etag: done.ETag ?? '', bytes };
  } catch (err) {
    failure ??= err;
    await Promise.all(sending);
    if (uploadId !== undefined)
      await client
        .send(new AbortMultipartUploadCommand({ Bucket: u.Bucket, Key: u.Key, UploadId: uploadId }))
        .catch(() => undefined);
    throw err;
  }
}
