// Node-only helpers (file streaming from and to disk); the browser entry never imports this module.
import { createReadStream, createWriteStream } from 'node:fs';
import { mkdir, rename, rm, stat } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';
import { Readable, Writable } from 'node:stream';
import type { HangarClient } from './client.js';
import type { BundleInfo } from './resources/apps.js';
import type { ProgressFn } from './resources/files.js';

/** Options of a file transfer between disk and the server. */
export interface FileTransferOptions {
  onProgress?: ProgressFn;
  signal?: AbortSignal;
}

/** Uploads a local file to `remotePath`, streamed from disk (a ZIP is extracted with `unzip`). */
export async function uploadFile(
  client: HangarClient,
  localPath: string,
  remotePath: string,
  opts: FileTransferOptions & { unzip?: boolean } = {},
): Promise<boolean> {
  const { size } = await stat(localPath);
  const source = Readable.toWeb(createReadStream(localPath)) as ReadableStream<Uint8Array>;
  return client.files.uploadLocal(remotePath, source, {
    filename: basename(localPath),
    size,
    unzip: opts.unzip,
    onProgress: opts.onProgress,
    signal: opts.signal,
  });
}

/**
 * Downloads `remotePath` to `localPath` through a temporary file renamed into place, so an interrupted
 * download never leaves a half-written file under the final name. Returns the byte count.
 */
export async function downloadFile(
  client: HangarClient,
  remotePath: string,
  localPath: string,
  opts: FileTransferOptions = {},
): Promise<number> {
  const download = await client.files.download(remotePath, opts);
  await mkdir(dirname(localPath), { recursive: true });
  const tmp = join(dirname(localPath), `.${basename(localPath)}.${process.pid}.part`);
  let bytes = 0;
  const counter = new TransformStream<Uint8Array, Uint8Array>({
    transform(chunk, controller) {
      bytes += chunk.byteLength;
      controller.enqueue(chunk);
    },
  });
  try {
    await download.body
      .pipeThrough(counter)
      .pipeTo(Writable.toWeb(createWriteStream(tmp)), { signal: opts.signal });
    await rename(tmp, localPath);
  } catch (err) {
    await rm(tmp, { force: true });
    throw err;
  }
  return bytes;
}

/** Uploads a packed bundle file (a gzip'd tar), streamed from disk; answers its digest and size. */
export async function uploadBundleFile(
  client: HangarClient,
  localPath: string,
  opts: FileTransferOptions = {},
): Promise<BundleInfo> {
  const { size } = await stat(localPath);
  const source = Readable.toWeb(createReadStream(localPath)) as ReadableStream<Uint8Array>;
  return client.apps.uploadBundle(source, { size, onProgress: opts.onProgress, signal: opts.signal });
}
