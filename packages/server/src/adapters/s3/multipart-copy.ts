import {
  AbortMultipartUploadCommand,
  CompleteMultipartUploadCommand,
  CreateMultipartUploadCommand,
  type HeadObjectCommandOutput,
  type S3Client,
  UploadPartCopyCommand,
} from '@aws-sdk/client-s3';
import type { WriteOptions } from '@hangar/core';

const MIB = 1 << 20;
/** S3's limits: at most 10,000 parts, each at least 5 MiB (but the last) and at most 5 GiB. */
const MAX_PARTS = 10_000;
const MIN_PART = 5 * MIB;
const MAX_PART = 5 * 1024 * MIB;
/** Part copies in flight at once: the bytes move inside the backend, Hangar only waits. */
const IN_FLIGHT = 4;

/** One object copied server-side in parts. */
export interface PartCopy {
  Bucket: string;
  Key: string;
  /** `bucket/key` of the source, URL-encoded. */
  CopySource: string;
  /** The source as just seen: its size, ETag (every part is copied from that version), metadata. */
  source: HeadObjectCommandOutput;
  /** Preferred part size; grown so the object fits in 10,000 parts. */
  partBytes: number;
}

/** Thrown when the source was replaced while its parts were being copied. */
export class SourceChanged extends Error {
  constructor() {
    super('the source object changed during a multipart copy');
    this.name = 'SourceChanged';
  }
}

/** The part size for an object of `size` bytes: the preferred one, grown to fit 10,000 parts. */
export function copyPartSize(size: number, preferred: number): number {
  const fit = Math.ceil(size / MAX_PARTS / MIB) * MIB;
  return Math.min(MAX_PART, Math.max(MIN_PART, preferred, fit));
}

/** The inclusive byte ranges of the parts of an object of `size` bytes. */
export function partRanges(size: number, partBytes: number): Array<{ start: number; end: number }> {
  const ranges = [];
  for (let start = 0; start < size; start += partBytes)
    ranges.push({ start, end: Math.min(size, start + partBytes) - 1 });
  return ranges;
}

/**
 * Copies an object beyond `CopyObject`'s 5 GiB limit: CreateMultipartUpload with the source's metadata,
 * UploadPartCopy of byte ranges (each conditional on the source's ETag), Complete. The destination
 * appears only when complete; on any failure the upload is aborted, leaving nothing. Its ETag is a
 * multipart one (not the source's): a new validator of the same bytes.
 */
export async function copyInParts(client: S3Client, c: PartCopy, w?: WriteOptions): Promise<void> {
  const { Bucket, Key, CopySource, source } = c;
  const size = source.ContentLength ?? 0;
  const { UploadId } = await client.send(
    new CreateMultipartUploadCommand({
      Bucket,
      Key,
      Metadata: source.Metadata,
      ContentType: source.ContentType,
      ContentEncoding: source.ContentEncoding,
      ContentDisposition: source.ContentDisposition,
      CacheControl: source.CacheControl,
    }),
  );
  try {
    const ranges = partRanges(size, copyPartSize(size, c.partBytes));
    const etags: string[] = [];
    let next = 0;
    let failed = false;
    const worker = async () => {
      for (let i = next++; i < ranges.length && !failed; i = next++) {
        const r = ranges[i]!;
        try {
          const res = await client.send(
            new UploadPartCopyCommand({
              Bucket,
              Key,
              UploadId,
              PartNumber: i + 1,
              CopySource,
              CopySourceRange: `bytes=${r.start}-${r.end}`,
              CopySourceIfMatch: source.ETag,
            }),
          );
          etags[i] = res.CopyPartResult?.ETag ?? '';
        } catch (err) {
          failed = true;
          throw statusOf(err) === 412 ? new SourceChanged() : err;
        }
      }
    };
    // Every worker settles before an abort, so no part lands after it.
    const settled = await Promise.allSettled(Array.from({ length: IN_FLIGHT }, worker));
    const rejected = settled.find((s): s is PromiseRejectedResult => s.status === 'rejected');
    if (rejected) throw rejected.reason;
    await client.send(
      new CompleteMultipartUploadCommand({
        Bucket,
        Key,
        UploadId,
        MultipartUpload: { Parts: etags.map((ETag, i) => ({ ETag, PartNumber: i + 1 })) },
        ...(w?.ifNoneMatch === '*' ? { IfNoneMatch: '*' } : {}),
      }),
    );
  } catch (err) {
    await client.send(new AbortMultipartUploadCommand({ Bucket, Key, UploadId })).catch(() => undefined);
    throw err;
  }
}

function statusOf(err: unknown): number | undefined {
  return (err as { $metadata?: { httpStatusCode?: number } } | null)?.$metadata?.httpStatusCode;
}
