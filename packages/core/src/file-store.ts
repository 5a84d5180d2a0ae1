/**
 * The storage port: every byte Hangar keeps outside its database (fal storage uploads, deployed app
 * bundles, large request payloads, owners' files) lives in one `FileStore` under slash-separated keys.
 * Adapters: local disk and S3-compatible services. Nothing here names a file system or an SDK type, and
 * one contract suite runs against every adapter.
 */

/** String metadata kept with an object (object stores keep string pairs). */
export type ObjectMeta = Readonly<Record<string, string>>;

/** What the store knows of a stored object. */
export interface ObjectInfo {
  key: string;
  bytes: number;
  /** A strong validator of the bytes, unquoted (the adapter's content hash or the backend's ETag). */
  etag: string;
  /** Last write, epoch milliseconds. */
  modifiedAt: number;
  meta: ObjectMeta;
}

/** An inclusive byte range. */
export interface ByteRange {
  start: number;
  end: number;
}

/** A read, optionally of a range and conditional on the object's ETag (HTTP semantics, unquoted tags). */
export interface ReadOptions {
  range?: ByteRange;
  /** Answer `not-modified` when the object's ETag is this one. */
  ifNoneMatch?: string;
  /** Answer `precondition-failed` unless the object's ETag is this one. */
  ifMatch?: string;
}

/** An object opened for reading: its info and its bytes (all, or the range asked for). */
export interface OpenedObject {
  info: ObjectInfo;
  body: AsyncIterable<Uint8Array>;
}

/** A conditional read whose condition did not hold: no bytes, only the object's info. */
export interface UnmetCondition {
  info: ObjectInfo;
  unmet: 'not-modified' | 'precondition-failed';
}

/** A write, optionally conditional: create only (`ifNoneMatch: '*'`), or replace a known version. */
export interface WriteOptions {
  ifNoneMatch?: '*';
  ifMatch?: string;
}

/** One page of a listing. With a delimiter, `prefixes` are the "folders" one level down (ending in `/`). */
export interface ListPage {
  objects: ObjectInfo[];
  prefixes: string[];
  /** Pass as `after` for the next page; null on the last one. */
  next: string | null;
}

export interface StoreListOptions {
  /** A key prefix (for a folder, end it with `/`). */
  prefix: string;
  /** Group keys below the next `/` into `prefixes` instead of listing them. */
  delimiter?: boolean;
  /** Resume after this key or prefix (the previous page's `next`). */
  after?: string;
  /** At most this many entries (objects + prefixes), 1..1000. */
  limit?: number;
}

/** A short-lived URL that reads (or writes) one object straight from the backend. */
export interface SignedUrlOptions {
  expiresInS: number;
  method?: 'GET' | 'PUT';
  /** Suggested download name (`Content-Disposition`). */
  filename?: string;
}

/** Thrown by a conditional write or copy whose condition does not hold. */
export class StoreConflict extends Error {
  constructor(readonly key: string) {
    super(`object ${key} does not meet the write condition`);
    this.name = 'StoreConflict';
  }
}

/**
 * Thrown when the backend cannot be reached or keeps failing (after the adapter's own retries): the
 * platform answers 503 with `Retry-After`.
 */
export class StoreUnavailable extends Error {
  constructor(
    message: string,
    readonly retryAfterS = 5,
  ) {
    super(message);
    this.name = 'StoreUnavailable';
  }
}

/** Objects under keys such as `fal/ab12/cd34` or `files/acme/models/weights.bin`. */
export interface FileStore {
  /** `disk` or `s3`; shown at start and in diagnostics. */
  readonly kind: string;
  /**
   * Streams `body` into `key`, visible to readers only once whole (a replace is atomic). When `body`
   * throws, nothing is kept and the error is rethrown. Big bodies are written in parts as they arrive.
   */
  put(
    key: string,
    body: AsyncIterable<Uint8Array>,
    meta: ObjectMeta,
    opts?: WriteOptions,
  ): Promise<ObjectInfo>;
  head(key: string): Promise<ObjectInfo | null>;
  /** Opens `key` for reading; null when absent. A range past the end is the caller's to refuse. */
  open(key: string, opts?: ReadOptions): Promise<OpenedObject | UnmetCondition | null>;
  /** Removes `key`; false when it was absent. */
  delete(key: string): Promise<boolean>;
  /** Every object whose key starts with `prefix`, in key order, with its metadata (for sweeps and tallies). */
  list(prefix: string): AsyncIterable<ObjectInfo>;
  /**
   * One page of the objects (and, with a delimiter, folders) under `prefix`, in key order. Entries carry
   * no metadata (`meta` is empty): backends list without it.
   */
  listPage(opts: StoreListOptions): Promise<ListPage>;
  /** Copies `from` to `to` (metadata included); null when `from` is absent. */
  copy(from: string, to: string, opts?: WriteOptions): Promise<ObjectInfo | null>;
  /**
   * Moves `from` to `to`; null when `from` is absent. Atomic on disk; on S3 a copy then a delete, so a
   * reader may briefly see both keys, never neither.
   */
  move(from: string, to: string): Promise<ObjectInfo | null>;
  /** A URL the backend serves `key` at without Hangar, or null when it has none (disk). */
  signedUrl(key: string, opts: SignedUrlOptions): Promise<string | null>;
}

/** True when an `open` result carries bytes. */
export function isOpened(result: OpenedObject | UnmetCondition | null): result is OpenedObject {
  return result !== null && 'body' in result;
}

const MAX_KEY_BYTES = 1024;
const MAX_SEGMENT_BYTES = 255;

/**
 * Whether `key` is a valid object key (every adapter checks it the same way): at most 1,024 UTF-8
 * bytes of non-empty segments of at most 255 bytes, never `.` or `..`, with no backslash, NUL or other
 * control character. Keys are never decoded, so `%2e%2e` is a literal name.
 */
export function isObjectKey(key: string): boolean {
  if (key === '' || byteLength(key) > MAX_KEY_BYTES) return false;
  if (/[\u0000-\u001f\u007f\\]/.test(key)) return false;
  for (const s of key.split('/')) {
    if (s === '' || s === '.' || s === '..' || byteLength(s) > MAX_SEGMENT_BYTES) return false;
  }
  return true;
}

/** Whether `prefix` is a valid listing prefix: empty, or a key, or a key followed by `/`. */
export function isKeyPrefix(prefix: string): boolean {
  if (prefix === '') return true;
  return isObjectKey(prefix.endsWith('/') ? prefix.slice(0, -1) : prefix);
}

function byteLength(s: string): number {
  let n = 0;
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c < 0x80) n += 1;
    else if (c < 0x800) n += 2;
    else if (c >= 0xd800 && c <= 0xdbff) {
      n += 4;
      i++;
    } else n += 3;
  }
  return n;
}
