import type { HttpTransport } from '../http.js';
import { encodePath } from '../paging.js';
import type { FileEntry } from '../types.js';

/** Bytes moved so far; `total` is null when the size is unknown. */
export interface TransferProgress {
  loaded: number;
  total: number | null;
}

/** Called as bytes of a transfer go by. */
export type ProgressFn = (progress: TransferProgress) => void;

/** Options of a download. */
export interface DownloadOptions {
  onProgress?: ProgressFn;
  signal?: AbortSignal;
}

/** A download in flight: read `body` to get the bytes. */
export interface Download {
  body: ReadableStream<Uint8Array>;
  /** From `Content-Length`, when the server sent it. */
  size: number | null;
  etag: string | null;
}

/** Options of a local upload. */
export interface UploadOptions {
  /** File name of the multipart part (defaults to the target's base name). */
  filename?: string;
  /** Byte size of a streamed body, for progress totals. */
  size?: number;
  /** Extract a ZIP upload into the target folder. */
  unzip?: boolean;
  onProgress?: ProgressFn;
  signal?: AbortSignal;
}

/** Counts the bytes flowing through a stream. */
export function countBytes(
  source: ReadableStream<Uint8Array>,
  total: number | null,
  onProgress: ProgressFn | undefined,
): ReadableStream<Uint8Array> {
  if (!onProgress) return source;
  let loaded = 0;
  return source.pipeThrough(
    new TransformStream<Uint8Array, Uint8Array>({
      transform(chunk, controller) {
        loaded += chunk.byteLength;
        controller.enqueue(chunk);
        onProgress({ loaded, total });
      },
    }),
  );
}

function quoteName(name: string): string {
  return name.replace(/["\\\r\n]/g, '_');
}

/** A `multipart/form-data` body with one `file_upload` part, streamed from `source`. */
export function multipartStream(
  source: ReadableStream<Uint8Array>,
  filename: string,
): { body: ReadableStream<Uint8Array>; contentType: string } {
  const bytes = new Uint8Array(12);
  crypto.getRandomValues(bytes);
  const boundary = `----hangar${Array.from(bytes, (b) => b.toString(16).padStart(2, '0')).join('')}`;
  const enc = new TextEncoder();
  const head = enc.encode(
    `--${boundary}\r\nContent-Disposition: form-data; name="file_upload"; filename="${quoteName(filename)}"\r\n` +
      'Content-Type: application/octet-stream\r\n\r\n',
  );
  const tail = enc.encode(`\r\n--${boundary}--\r\n`);
  const reader = source.getReader();
  let started = false;
  const body = new ReadableStream<Uint8Array>({
    async pull(controller) {
      if (!started) {
        started = true;
        controller.enqueue(head);
        return;
      }
      const { done, value } = await reader.read();
      if (done) {
        controller.enqueue(tail);
        controller.close();
      } else controller.enqueue(value);
    },
    cancel(reason) {
      return reader.cancel(reason);
    },
  });
  return { body, contentType: `multipart/form-data; boundary=${boundary}` };
}

function baseName(path: string): string {
  return path.replace(/\/+$/, '').split('/').pop() || 'upload';
}

/** The Files API: the caller's persistent storage (the tree runners see as their data dir). */
export function createFiles(http: HttpTransport) {
  return {
    /** Lists one folder (the root when `dir` is empty), one level deep. */
    list: (dir = '') => {
      const rel = encodePath(dir);
      return http.json<FileEntry[]>(
        'GET',
        rel ? `/v1/serverless/files/list/${rel}` : '/v1/serverless/files/list',
      );
    },

    /** Starts a download; the body streams with progress reported as it is read. */
    async download(path: string, opts: DownloadOptions = {}): Promise<Download> {
      const res = await http.raw('GET', `/v1/serverless/files/file/${encodePath(path)}`, {
        headers: { accept: '*/*' },
        signal: opts.signal,
      });
      const length = res.headers.get('content-length');
      const size = length === null ? null : Number(length);
      const source = res.body ?? new ReadableStream<Uint8Array>({ start: (c) => c.close() });
      return { body: countBytes(source, size, opts.onProgress), size, etag: res.headers.get('etag') };
    },

    /**
     * Uploads bytes to `target` (`multipart/form-data`, part `file_upload`). A stream is sent as it is
     * read, with progress; a Blob (a browser File) goes as FormData.
     */
    async uploadLocal(
      target: string,
      data: Blob | ReadableStream<Uint8Array>,
      opts: UploadOptions = {},
    ): Promise<boolean> {
      const filename = opts.filename ?? baseName(target);
      const path = `/v1/serverless/files/file/local/${encodePath(target)}`;
      const query = opts.unzip ? { unzip: true } : undefined;
      if (data instanceof Blob) {
        const form = new FormData();
        form.append('file_upload', data, filename);
        const ok = await http.json<boolean>('POST', path, { query, body: form, signal: opts.signal });
        opts.onProgress?.({ loaded: data.size, total: data.size });
        return ok;
      }
      const counted = countBytes(data, opts.size ?? null, opts.onProgress);
      const { body, contentType } = multipartStream(counted, filename);
      return http.json<boolean>('POST', path, {
        query,
        body,
        headers: { 'content-type': contentType },
        signal: opts.signal,
      });
    },

    /** Has the server fetch a public http(s) URL into `target`. */
    uploadFromUrl: (target: string, url: string) =>
      http.json<boolean>('POST', `/v1/serverless/files/file/url/${encodePath(target)}`, { body: { url } }),

    /** Deletes a file or, recursively, a folder (Hangar extension). */
    remove: (path: string) => http.json<void>('DELETE', `/v1/serverless/files/file/${encodePath(path)}`),

    /** Moves or renames a file or folder (Hangar extension). */
    move: (from: string, destination: string) =>
      http.json<boolean>('POST', `/v1/serverless/files/move/${encodePath(from)}`, { body: { destination } }),
  };
}

/** The Files API client. */
export type FilesApi = ReturnType<typeof createFiles>;
