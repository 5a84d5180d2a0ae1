import { createHash, randomUUID } from 'node:crypto';
import { createReadStream, createWriteStream } from 'node:fs';
import { mkdir, rename, rm, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { pipeline } from 'node:stream/promises';
import {
  type AppStore,
  BUNDLE_DIGEST_PATTERN,
  type BundleLimits,
  type BundleRecord,
  type Clock,
  type FileStore,
  isOpened,
  PlatformError,
  StoreConflict,
} from '@hangar/core';
import { unpackBundle } from './unpack.js';

/** Dependencies of the bundle store. */
export interface BundleStoreDeps {
  /** `HANGAR_HOME/bundles`: this node's unpacked trees and work files. */
  root: string;
  /** Where archives are kept (`bundles/<sha256 hex>.tar.gz`), shared by every node. */
  objects: FileStore;
  limits: BundleLimits;
  /** Where owners' bundle records live. */
  apps: AppStore;
  clock: Clock;
}

/** A bundle an owner holds; `created` is true when this upload gave it to the owner. */
export interface StoredBundle extends BundleRecord {
  created: boolean;
}

/**
 * Content-addressed bundles: one archive per digest in the object storage, unpacked once per node into a
 * local tree (a cache: a missing tree is unpacked again from the archive), while each owner may only see
 * and deploy the digests it uploaded itself.
 */
export interface BundleStore {
  /** Where packing and other work files go (the store's filesystem, so renames are atomic); created if new. */
  workDir(): Promise<string>;
  /** Streams an upload to disk (hashing and capping it), unpacks it safely once, and gives it to `owner`. */
  put(owner: string, source: AsyncIterable<Uint8Array>, declaredBytes?: number): Promise<StoredBundle>;
  /** The owner's record of a digest, or null when that owner never uploaded it (whoever else did). */
  get(owner: string, digest: string): Promise<BundleRecord | null>;
  /** The unpacked tree of a stored digest, unpacked again from its archive if the tree went missing. */
  treeDir(digest: string): Promise<string>;
}

const DIGEST_RE = new RegExp(BUNDLE_DIGEST_PATTERN);

/** Creates the bundle store under `deps.root`. */
export function createBundleStore(deps: BundleStoreDeps): BundleStore {
  const tmpDir = join(deps.root, 'tmp');
  /** Where archives were kept before they moved to the object storage; moved there on first use. */
  const legacyArchive = (hex: string) => join(deps.root, 'archives', `${hex}.tar.gz`);
  const archiveKey = (hex: string) => `bundles/${hex}.tar.gz`;
  const tree = (hex: string) => join(deps.root, 'trees', hex);
  let ready: Promise<unknown> | null = null;
  const layout = () =>
    (ready ??= Promise.all(
      ['tmp', 'trees'].map((d) => mkdir(join(deps.root, d), { recursive: true, mode: 0o755 })),
    ));

  const tooLarge = () =>
    new PlatformError(
      'BUNDLE_TOO_LARGE',
      `the bundle exceeds limits.max_bundle_bytes (${deps.limits.maxBytes} bytes)`,
    );

  /** Writes the upload to a private work file; returns its sha256 and size. */
  async function receive(source: AsyncIterable<Uint8Array>, file: string) {
    const hash = createHash('sha256');
    let bytes = 0;
    const counted = async function* () {
      for await (const chunk of source) {
        bytes += chunk.byteLength;
        if (bytes > deps.limits.maxBytes) throw tooLarge();
        hash.update(chunk);
        yield chunk;
      }
    };
    try {
      await pipeline(counted, createWriteStream(file, { flags: 'wx', mode: 0o600 }));
    } catch (err) {
      if (err instanceof PlatformError) throw err;
      throw new PlatformError('BUNDLE_INVALID', 'the upload ended before the whole bundle arrived');
    }
    if (bytes === 0) throw new PlatformError('BUNDLE_INVALID', 'the bundle is empty');
    return { hex: hash.digest('hex'), bytes };
  }

  /** Unpacks `from` into the digest's tree unless it is there; a concurrent unpack of the same digest wins. */
  async function ensureTree(hex: string, from: string): Promise<string> {
    const dir = tree(hex);
    if (await isDir(dir)) return dir;
    const work = join(tmpDir, `tree-${randomUUID()}`);
    await unpackBundle(from, work, deps.limits);
    try {
      await rename(work, dir);
    } catch (err) {
      await rm(work, { recursive: true, force: true });
      const code = (err as NodeJS.ErrnoException).code;
      if (code !== 'ENOTEMPTY' && code !== 'EEXIST') throw err;
    }
    return dir;
  }

  /** Stores the archive unless the object storage has it (two nodes storing one digest store equal bytes). */
  async function keepArchive(hex: string, file: string): Promise<void> {
    try {
      await deps.objects.put(archiveKey(hex), createReadStream(file), {}, { ifNoneMatch: '*' });
    } catch (err) {
      if (!(err instanceof StoreConflict)) throw err;
    }
  }

  /** Whether the archive is stored, moving one left by an older version on this disk into the storage. */
  async function hasArchive(hex: string): Promise<boolean> {
    if ((await deps.objects.head(archiveKey(hex))) !== null) return true;
    if (!(await isFile(legacyArchive(hex)))) return false;
    await keepArchive(hex, legacyArchive(hex));
    await rm(legacyArchive(hex), { force: true });
    return true;
  }

  /** Fetches the stored archive into a work file, unpacks it into the tree, and removes the work file. */
  async function treeFromStore(hex: string): Promise<string> {
    const dir = tree(hex);
    if (await isDir(dir)) return dir;
    const opened = await deps.objects.open(archiveKey(hex));
    if (!isOpened(opened)) throw new PlatformError('BUNDLE_NOT_FOUND');
    const work = join(tmpDir, `fetch-${randomUUID()}.tar.gz`);
    try {
      await pipeline(opened.body, createWriteStream(work, { flags: 'wx', mode: 0o600 }));
      return await ensureTree(hex, work);
    } finally {
      await rm(work, { force: true });
    }
  }

  return {
    async workDir() {
      await layout();
      return tmpDir;
    },
    async put(owner, source, declaredBytes) {
      if (declaredBytes !== undefined && declaredBytes > deps.limits.maxBytes) throw tooLarge();
      await layout();
      const work = join(tmpDir, `upload-${randomUUID()}.tar.gz`);
      try {
        const { hex, bytes } = await receive(source, work);
        // Unpacked first: an archive that does not unpack safely is refused and never stored.
        await ensureTree(hex, work);
        if (!(await hasArchive(hex))) await keepArchive(hex, work);
        const digest = `sha256:${hex}`;
        const held = await deps.apps.getBundle(owner, digest);
        if (held) return { ...held, created: false };
        const rec: BundleRecord = { owner, digest, bytes, createdAt: deps.clock() };
        await deps.apps.putBundle(rec);
        return { ...rec, created: true };
      } finally {
        await rm(work, { force: true });
      }
    },
    async get(owner, digest) {
      if (!DIGEST_RE.test(digest)) return null;
      const rec = await deps.apps.getBundle(owner, digest);
      return rec && (await hasArchive(digest.slice(7))) ? rec : null;
    },
    async treeDir(digest) {
      if (!DIGEST_RE.test(digest)) throw new PlatformError('BUNDLE_NOT_FOUND');
      const hex = digest.slice(7);
      await layout();
      if (await isDir(tree(hex))) return tree(hex);
      if (!(await hasArchive(hex))) throw new PlatformError('BUNDLE_NOT_FOUND');
      return treeFromStore(hex);
    },
  };
}

async function isDir(path: string): Promise<boolean> {
  return (await stat(path).catch(() => null))?.isDirectory() ?? false;
}

async function isFile(path: string): Promise<boolean> {
  return (await stat(path).catch(() => null))?.isFile() ?? false;
}
