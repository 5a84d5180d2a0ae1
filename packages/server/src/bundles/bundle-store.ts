import { createHash, randomUUID } from 'node:crypto';
import { createWriteStream } from 'node:fs';
import { mkdir, rename, rm, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { pipeline } from 'node:stream/promises';
import {
  type AppStore,
  BUNDLE_DIGEST_PATTERN,
  type BundleLimits,
  type BundleRecord,
  type Clock,
  PlatformError,
} from '@hangar/core';
import { unpackBundle } from './unpack.js';

/** Dependencies of the bundle store. */
export interface BundleStoreDeps {
  /** `HANGAR_HOME/bundles`: archives, unpacked trees and work files. */
  root: string;
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
 * Content-addressed bundles: one archive and one unpacked tree per digest, shared on disk, while each owner
 * may only see and deploy the digests it uploaded itself.
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
  const archive = (hex: string) => join(deps.root, 'archives', `${hex}.tar.gz`);
  const tree = (hex: string) => join(deps.root, 'trees', hex);
  let ready: Promise<unknown> | null = null;
  const layout = () =>
    (ready ??= Promise.all(
      ['tmp', 'archives', 'trees'].map((d) => mkdir(join(deps.root, d), { recursive: true, mode: 0o755 })),
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
        if (await isFile(archive(hex))) await ensureTree(hex, archive(hex));
        else {
          await ensureTree(hex, work);
          await rename(work, archive(hex));
        }
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
      return rec && (await isFile(archive(digest.slice(7)))) ? rec : null;
    },
    async treeDir(digest) {
      if (!DIGEST_RE.test(digest)) throw new PlatformError('BUNDLE_NOT_FOUND');
      const hex = digest.slice(7);
      await layout();
      if (!(await isFile(archive(hex)))) throw new PlatformError('BUNDLE_NOT_FOUND');
      return ensureTree(hex, archive(hex));
    },
  };
}

async function isDir(path: string): Promise<boolean> {
  return (await stat(path).catch(() => null))?.isDirectory() ?? false;
}

async function isFile(path: string): Promise<boolean> {
  return (await stat(path).catch(() => null))?.isFile() ?? false;
}
