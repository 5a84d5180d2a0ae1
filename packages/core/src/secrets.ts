import { PlatformError } from './errors.js';

/** Secret names: environment variable names (upper case), like fal's `fal secrets set NAME=VALUE`. */
export const SECRET_NAME_PATTERN = '^[A-Z_][A-Z0-9_]*$';
/** Longest secret name, in characters. */
export const SECRET_NAME_MAX = 128;
/** Largest secret value, in UTF-8 bytes (a runner's environment must hold them all). */
export const SECRET_VALUE_MAX_BYTES = 32_768;
/** Most secrets one owner may hold. */
export const SECRETS_PER_OWNER_MAX = 200;
/** Values shorter than this are not masked in logs and recorded payloads (they would mask ordinary words). */
export const SECRET_MASK_MIN_LENGTH = 4;
/** What a masked secret value is replaced with. */
export const SECRET_MASK = '***';

/**
 * Names the platform sets in a runner's environment (or that decide how it runs): a secret may not take
 * them. Prefixes end with `_`.
 */
export const RESERVED_SECRET_NAMES: readonly string[] = [
  'PORT',
  'DATA_DIR',
  'PATH',
  'HOME',
  'USER',
  'TMPDIR',
  'PYTHONUNBUFFERED',
  'HTTP_PROXY',
  'HTTPS_PROXY',
  'NO_PROXY',
  'CUDA_VISIBLE_DEVICES',
  'NVIDIA_VISIBLE_DEVICES',
  'HANGAR_',
  'FAL_',
];

const NAME_RE = new RegExp(SECRET_NAME_PATTERN);

/** Throws `SECRET_NAME_INVALID` or `SECRET_NAME_RESERVED` unless `name` may be set. */
export function checkSecretName(name: string): void {
  if (name.length === 0 || name.length > SECRET_NAME_MAX || !NAME_RE.test(name)) {
    throw new PlatformError('SECRET_NAME_INVALID');
  }
  const reserved = RESERVED_SECRET_NAMES.find((r) => (r.endsWith('_') ? name.startsWith(r) : name === r));
  if (reserved !== undefined) {
    const what = reserved.endsWith('_') ? `names starting with ${reserved}` : reserved;
    throw new PlatformError('SECRET_NAME_RESERVED', `${what} is reserved for a variable the platform sets`);
  }
}

/** Throws `SECRET_VALUE_INVALID` unless `value` fits in an environment variable and the size limit. */
export function checkSecretValue(value: string): void {
  const utf8 = Buffer.from(value, 'utf8');
  // A lone surrogate does not survive UTF-8: the value would change on its way to the runner.
  const wellFormed = utf8.toString('utf8') === value;
  if (utf8.length === 0 || utf8.length > SECRET_VALUE_MAX_BYTES || value.includes('\0') || !wellFormed) {
    throw new PlatformError('SECRET_VALUE_INVALID');
  }
}

/** One stored secret: its value only as ciphertext. */
export interface StoredSecret {
  owner: string;
  name: string;
  /** The sealed value (format of the server's cipher: version, IV, tag, ciphertext). */
  sealed: Buffer;
  /** Which key sealed it (a fingerprint of the key, never the key). */
  keyId: string;
  createdAt: number;
  updatedAt: number;
}

/** Owners' secrets, sealed; the store never sees a value in clear. */
export interface SecretStore {
  /** Inserts or replaces the secret; a replaced secret keeps its `createdAt`. */
  putSecret(secret: StoredSecret): Promise<void>;
  /** The owner's secrets (every owner's when omitted), by owner then name. */
  listSecrets(owner?: string): Promise<StoredSecret[]>;
  /** Forgets one secret; false when the owner had none of that name. */
  deleteSecret(owner: string, name: string): Promise<boolean>;
}

/**
 * A function replacing every occurrence of the given values (and of their JSON-escaped spelling, and of
 * each line of a value spanning lines) with `***`. Values shorter than `SECRET_MASK_MIN_LENGTH` are left.
 */
export function createSecretMasker(values: Iterable<string>): (text: string) => string {
  const needles = new Set<string>();
  const add = (v: string) => {
    if (v.length >= SECRET_MASK_MIN_LENGTH) needles.add(v);
  };
  for (const value of values) {
    add(value);
    add(JSON.stringify(value).slice(1, -1));
    if (value.includes('\n')) for (const line of value.split(/\r?\n/)) add(line);
  }
  // Longest first, so a value containing another is masked whole.
  const sorted = [...needles].sort((a, b) => b.length - a.length);
  if (sorted.length === 0) return (text) => text;
  return (text) => {
    let out = text;
    for (const needle of sorted) if (out.includes(needle)) out = out.split(needle).join(SECRET_MASK);
    return out;
  };
}
