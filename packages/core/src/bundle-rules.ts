/** A bundle digest on the wire: `sha256:` and 64 lowercase hex digits of the gzip'd tar. */
export const BUNDLE_DIGEST_PATTERN = '^sha256:[0-9a-f]{64}$';

/** Caps on one bundle; the server's come from `limits.max_bundle_*`, the CLI packs within these defaults. */
export interface BundleLimits {
  /** Compressed size (the upload). */
  maxBytes: number;
  /** Sum of the unpacked files' sizes. */
  maxUnpackedBytes: number;
  /** Entries: files, directories and symlinks. */
  maxFiles: number;
}

/** Default bundle caps: 512 MiB compressed, 2 GiB unpacked, 100,000 entries. */
export const DEFAULT_BUNDLE_LIMITS: Readonly<BundleLimits> = {
  maxBytes: 512 * 1024 * 1024,
  maxUnpackedBytes: 2 * 1024 * 1024 * 1024,
  maxFiles: 100_000,
};
