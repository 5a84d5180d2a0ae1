/**
 * The object storage port: immutable blobs under slash-separated keys, with string metadata. It holds
 * fal storage objects and upload parts today; an S3 adapter implements the same interface later, so
 * nothing here names a file system type.
 */

/** String metadata kept with an object (object stores keep string pairs). */
export type ObjectMeta = Readonly<Record<string, string>>;

/** What the store knows of a stored object. */
export interface ObjectInfo {
  key: string;
  bytes: number;
  /** A strong validator of the bytes (the adapter's content hash, hex). */
  etag: string;
  meta: ObjectMeta;
}

/** An inclusive byte range. */
export interface ByteRange {
  start: number;
  end: number;
}

/** An object opened for reading: its info and its bytes (all, or the range asked for). */
export interface OpenedObject {
  info: ObjectInfo;
  body: AsyncIterable<Uint8Array>;
}

/** Immutable objects under keys such as `fal/ab12/cd34` (segments `[A-Za-z0-9._-]`, never `.` or `..`). */
export interface ObjectStore {
  /**
   * Streams `body` into `key`, visible to readers only once whole (a replace is atomic). When `body`
   * throws, nothing is kept and the error is rethrown.
   */
  put(key: string, body: AsyncIterable<Uint8Array>, meta: ObjectMeta): Promise<ObjectInfo>;
  head(key: string): Promise<ObjectInfo | null>;
  /** Opens `key` for reading; null when absent. A range past the end is the caller's to refuse. */
  open(key: string, range?: ByteRange): Promise<OpenedObject | null>;
  /** Removes `key`; false when it was absent. */
  delete(key: string): Promise<boolean>;
  /** Every object whose key starts with `prefix` (a whole-segment prefix such as `fal/`). */
  list(prefix: string): AsyncIterable<ObjectInfo>;
}

const KEY_SEGMENT = /^[A-Za-z0-9._-]{1,200}$/;

/** Whether `key` is a valid object key (every adapter checks it the same way). */
export function isObjectKey(key: string): boolean {
  const segments = key.split('/');
  return segments.length <= 16 && segments.every((s) => KEY_SEGMENT.test(s) && s !== '.' && s !== '..');
}
