import { createCipheriv, createDecipheriv, createHash, randomBytes } from 'node:crypto';

/** First byte of a sealed value: the layout below. */
const VERSION = 1;
const IV_BYTES = 12;
const TAG_BYTES = 16;
const HEADER = 1 + IV_BYTES + TAG_BYTES;

/** A key that seals secrets, with its id (a fingerprint that does not reveal the key). */
export interface SecretKey {
  id: string;
  key: Buffer;
}

/** Wraps 32 key bytes with their id: the first 16 hex digits of a SHA-256 of a label and the key. */
export function secretKey(key: Buffer): SecretKey {
  if (key.length !== 32) throw new Error('a secrets key is 32 bytes');
  const id = createHash('sha256').update('hangar-secrets-key-id\0').update(key).digest('hex').slice(0, 16);
  return { id, key };
}

/** The owner and name bind a sealed value to its row: moved to another row, it no longer opens. */
function associatedData(owner: string, name: string): Buffer {
  return Buffer.from(`hangar-secret\0${owner}\0${name}`, 'utf8');
}

/** Seals a value with AES-256-GCM under a fresh random 12-byte IV: version | IV | tag | ciphertext. */
export function sealSecret(k: SecretKey, owner: string, name: string, value: string): Buffer {
  const iv = randomBytes(IV_BYTES);
  const cipher = createCipheriv('aes-256-gcm', k.key, iv);
  cipher.setAAD(associatedData(owner, name));
  const body = Buffer.concat([cipher.update(value, 'utf8'), cipher.final()]);
  return Buffer.concat([Buffer.from([VERSION]), iv, cipher.getAuthTag(), body]);
}

/** Opens a sealed value; null when it does not authenticate (another key, another row, or altered bytes). */
export function openSecret(k: SecretKey, owner: string, name: string, sealed: Buffer): string | null {
  if (sealed.length < HEADER || sealed[0] !== VERSION) return null;
  try {
    const decipher = createDecipheriv('aes-256-gcm', k.key, sealed.subarray(1, 1 + IV_BYTES));
    decipher.setAAD(associatedData(owner, name));
    decipher.setAuthTag(sealed.subarray(1 + IV_BYTES, HEADER));
    return Buffer.concat([decipher.update(sealed.subarray(HEADER)), decipher.final()]).toString('utf8');
  } catch {
    return null;
  }
}
