import type { HttpTransport } from '../http.js';
import { encodePath, paginate } from '../paging.js';
import type { FileEntry, Paged } from '../types.js';

/** Hangar's paging extension of a listing: at most `limit` entries (1..10000), after `cursor`. */
export interface ListPageQuery {
  limit?: number;
  /** `next_cursor` of the previous page. */
  cursor?: string;
}

/** One page of a folder's listing; the next page continues from `next_cursor`. */
export interface FileListPage extends Paged {
  entries: FileEntry[];
}

/** The header naming the next page of a paged listing (absent on the last page). */
const NEXT_CURSOR = 'x-hangar-next-cursor';

const listPath = (dir: string) => {
  const rel = encodePath(dir);
  return rel ? `/v1/serverless/files/list/${rel}` : '/v1/serverless/files/list';
};

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
  /** One page of a folder's listing (Hangar extension; a server without it answers everything). */
  async function listPage(dir = '', query: ListPageQuery = {}): Promise<FileListPage> {
    const res = await http.raw('GET', listPath(dir), { query: { ...query } });
    const entries = (await res.json()) as FileEntry[];
    const next = res.headers.get(NEXT_CURSOR);
    return { entries, next_cursor: next, has_more: next !== null };
  }

  return {
    /** Lists one folder (the root when `dir` is empty), one level deep, whole. */
    list: (dir = '') => http.json<FileEntry[]>('GET', listPath(dir)),

    listPage,

    /** Every entry of a folder, fetched `limit` at a time (default 1000; Hangar extension). */
    iterate: (dir = '', limit = 1000): AsyncGenerator<FileEntry> =>
      paginate(
        (cursor) => listPage(dir, { limit, cursor }),
        (page: FileListPage) => page.entries,
      ),

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
