import { isAbsolute } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { ConfigFile } from './config-file.js';
import { ConfigError } from './config-file.js';

/** Where every object Hangar keeps lives: a folder of this machine, or an S3-compatible bucket. */
export type StorageLocation =
  | { readonly kind: 'disk'; readonly root: string }
  | {
      readonly kind: 's3';
      readonly bucket: string;
      /** Key prefix inside the bucket: `''` or ending in `/`. */
      readonly prefix: string;
      readonly endpoint?: string;
      readonly region: string;
      readonly forcePathStyle: boolean;
      readonly credentials?: { readonly accessKeyId: string; readonly secretAccessKey: string };
      readonly requestTimeoutMs: number;
      readonly maxAttempts: number;
    };

/** The environment variables this reads (passed in by `loadConfig`, the only reader of the environment). */
export interface StorageEnv {
  HANGAR_STORAGE_URL?: string;
  HANGAR_S3_ENDPOINT?: string;
  HANGAR_S3_REGION?: string;
  AWS_REGION?: string;
  AWS_DEFAULT_REGION?: string;
}

const BUCKET = /^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$/;

/**
 * Reads `HANGAR_STORAGE_URL` (`file:///path` or `s3://bucket/prefix`; `defaultRoot` when unset) and the
 * S3 settings of the config file. Throws ConfigError with the variable's name on anything malformed.
 */
export function parseStorageLocation(
  env: StorageEnv,
  s3File: NonNullable<NonNullable<ConfigFile['storage']>['s3']> | undefined,
  defaultRoot: string,
): StorageLocation {
  const raw = env.HANGAR_STORAGE_URL;
  if (raw === undefined || raw === '') return { kind: 'disk', root: defaultRoot };
  let url: URL;
  try {
    url = new URL(raw);
  } catch {
    throw new ConfigError(`HANGAR_STORAGE_URL must be file:///path or s3://bucket/prefix (got "${raw}")`);
  }
  if (url.protocol === 'file:') {
    if (url.host !== '' || url.search !== '' || url.hash !== '') {
      throw new ConfigError('HANGAR_STORAGE_URL: a file URL is file:///absolute/path, with no host or query');
    }
    const root = fileURLToPath(url);
    if (!isAbsolute(root)) throw new ConfigError('HANGAR_STORAGE_URL: the path must be absolute');
    return { kind: 'disk', root };
  }
  if (url.protocol !== 's3:') {
    throw new ConfigError(`HANGAR_STORAGE_URL must use file: or s3: (got "${url.protocol}")`);
  }
  const bucket = url.hostname;
  if (!BUCKET.test(bucket)) {
    throw new ConfigError(`HANGAR_STORAGE_URL: "${bucket}" is not a valid bucket name (3-63 of a-z 0-9 . -)`);
  }
  if (url.username !== '' || url.password !== '' || url.port !== '' || url.search !== '' || url.hash !== '') {
    throw new ConfigError('HANGAR_STORAGE_URL: s3://bucket/prefix takes no credentials, port or query');
  }
  // Read from the text as given: URL parsing would already have resolved `a/../b` to `b`.
  let given: string;
  try {
    given = decodeURIComponent(raw.slice('s3://'.length).replace(/^[^/]*/, ''));
  } catch {
    throw new ConfigError('HANGAR_STORAGE_URL: malformed percent-encoding in the prefix');
  }
  const path = given.replace(/^\/+|\/+$/g, '');
  if (path.split('/').some((s) => s === '.' || s === '..')) {
    throw new ConfigError('HANGAR_STORAGE_URL: the prefix must not contain "." or ".." segments');
  }
  const endpoint = env.HANGAR_S3_ENDPOINT || s3File?.endpoint;
  if (endpoint !== undefined) {
    let parsed: URL;
    try {
      parsed = new URL(endpoint);
    } catch {
      throw new ConfigError(`HANGAR_S3_ENDPOINT is not a URL (got "${endpoint}")`);
    }
    if (parsed.protocol !== 'http:' && parsed.protocol !== 'https:') {
      throw new ConfigError('HANGAR_S3_ENDPOINT must be an http or https URL');
    }
  }
  const keyId = s3File?.access_key_id;
  const secret = s3File?.secret_access_key;
  if ((keyId === undefined) !== (secret === undefined)) {
    throw new ConfigError('storage.s3.access_key_id and storage.s3.secret_access_key go together');
  }
  return {
    kind: 's3',
    bucket,
    prefix: path === '' ? '' : `${path}/`,
    ...(endpoint === undefined ? {} : { endpoint }),
    region: env.HANGAR_S3_REGION || s3File?.region || env.AWS_REGION || env.AWS_DEFAULT_REGION || 'us-east-1',
    // Path-style suits MinIO, Ceph and test servers; AWS itself takes virtual-host style.
    forcePathStyle: s3File?.force_path_style ?? endpoint !== undefined,
    ...(keyId !== undefined && secret !== undefined
      ? { credentials: { accessKeyId: keyId, secretAccessKey: secret } }
      : {}),
    requestTimeoutMs: s3File?.request_timeout_ms ?? 30_000,
    maxAttempts: s3File?.max_attempts ?? 3,
  };
}
