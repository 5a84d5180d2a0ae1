import { type FileStore, isObjectKey, type ObjectInfo, PlatformError } from '@hangar/core';
import type { StorageUsage } from './quota.js';
import { TEMP_PREFIX } from './safe-path.js';

/**
 * The zero-byte object that keeps an otherwise empty folder in the store: `files/<owner>/<dir>/` +
 * this name. Its name is under the reserved temporary prefix, so the Files API hides it from listings
 * and refuses it in paths, exactly like the temporary files of the disk tree.
 */
export const FOLDER_MARKER = `${TEMP_PREFIX}folder`;

/** The key prefix of an owner's files: `files/<owner>/`. */
export function ownerPrefix(owner: string): string {
  if (!isObjectKey(owner) || owner.includes('/')) throw new PlatformError('FILES_PATH_INVALID');
  return `files/${owner}/`;
}

/** The key of the file (or folder, without its trailing `/`) that validated `segments` name. */
export function keyOf(owner: string, segments: readonly string[]): string {
  const key = ownerPrefix(owner) + segments.join('/');
  if (!isObjectKey(key)) throw new PlatformError('FILES_PATH_INVALID', 'Invalid file path: too long');
  return key;
}

/** The prefix listing a folder's contents (the owner's prefix for the root). */
export function folderPrefix(owner: string, segments: readonly string[]): string {
  return segments.length === 0 ? ownerPrefix(owner) : `${keyOf(owner, segments)}/`;
}

/** Every object under `prefix`, page after page (no metadata). */
export async function* walkPrefix(store: FileStore, prefix: string): AsyncIterable<ObjectInfo> {
  let after: string | undefined;
  do {
    const page = await store.listPage({ prefix, after, limit: 1000 });
    yield* page.objects;
    after = page.next ?? undefined;
  } while (after !== undefined);
}

/** True when the key is a folder marker or an in-flight temporary object (never owner data). */
export function isBookkeeping(key: string): boolean {
  const name = key.slice(key.lastIndexOf('/') + 1);
  return name.startsWith(TEMP_PREFIX);
}

/**
 * What an owner's prefix holds, for the quota: the bytes and the number of objects, folder markers
 * left out (folders on S3 are prefixes, not entries).
 */
export async function tallyOwner(store: FileStore, owner: string): Promise<StorageUsage> {
  const total = { bytes: 0, files: 0 };
  for await (const o of walkPrefix(store, ownerPrefix(owner))) {
    if (o.key.endsWith(`/${FOLDER_MARKER}`)) continue;
    total.files += 1;
    total.bytes += o.bytes;
  }
  return total;
}

/** True when some object sits below `segments` (so it is a folder). */
export async function isFolder(
  store: FileStore,
  owner: string,
  segments: readonly string[],
): Promise<boolean> {
  if (segments.length === 0) return true;
  const page = await store.listPage({ prefix: folderPrefix(owner, segments), limit: 1 });
  return page.objects.length > 0 || page.prefixes.length > 0;
}

/** Refuses a path below a file: FILES_NOT_A_DIRECTORY when an ancestor of `segments` is an object. */
export async function checkNoFileAbove(
  store: FileStore,
  owner: string,
  segments: readonly string[],
): Promise<void> {
  const ancestors = segments.slice(0, -1).map((_, i) => keyOf(owner, segments.slice(0, i + 1)));
  const found = await Promise.all(ancestors.map((k) => store.head(k)));
  if (found.some((info) => info !== null)) {
    throw new PlatformError('FILES_NOT_A_DIRECTORY', 'A file is in the way of the target folder');
  }
}

/** Keeps the folder holding `segments` (an implicit prefix would vanish with its last object). */
export async function keepParent(
  store: FileStore,
  owner: string,
  segments: readonly string[],
): Promise<void> {
  if (segments.length < 2) return;
  const marker = `${keyOf(owner, segments.slice(0, -1))}/${FOLDER_MARKER}`;
  if ((await store.head(marker)) === null) await store.put(marker, empty(), {});
}

/** An empty body. */
export async function* empty(): AsyncIterable<Uint8Array> {}

/** Runs `fn` over `items`, `width` at a time. */
export async function inBatches<T>(items: readonly T[], width: number, fn: (item: T) => Promise<void>) {
  for (let i = 0; i < items.length; i += width) await Promise.all(items.slice(i, i + width).map(fn));
}
