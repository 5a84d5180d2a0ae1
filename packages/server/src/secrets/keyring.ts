import { randomBytes } from 'node:crypto';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { PlatformError } from '@hangar/core';
import { ConfigError, parseSecretsKey } from '../config.js';
import { type SecretKey, secretKey } from './cipher.js';

/** Where the keys come from (docs/config.md, Secrets). */
export interface KeyringOptions {
  /** HANGAR_SECRETS_KEY as hex, or null to use the key file. */
  key: string | null;
  /** HANGAR_SECRETS_KEY_PREVIOUS as hex, or null. */
  previousKey: string | null;
  /** The key file under HANGAR_HOME, created (mode 0600) the first time a secret is sealed without `key`. */
  keyPath: string;
  /**
   * False when the secrets live in a database several nodes share (PostgreSQL): a key file of this node
   * could not be opened by the others, so without `key` nothing is sealed (SECRETS_KEY_REQUIRED).
   */
  keyFileAllowed?: boolean;
}

/** The key that seals new values, and every key that may still open stored ones. */
export interface SecretKeyring {
  /** The sealing key (creating the key file on first use when no key is configured). */
  current(): SecretKey;
  /** The id `current()` has or will have, or null while no key exists at all. */
  currentId(): string | null;
  /** A configured key by id, or null. */
  byId(id: string): SecretKey | null;
}

const fromHex = (hex: string) => secretKey(Buffer.from(hex, 'hex'));

/** Thrown when the keys cannot open the stored secrets, or the key file holds no key: the server must not start. */
export class SecretsKeyError extends ConfigError {}

function readKeyFile(path: string): SecretKey | null {
  if (!existsSync(path)) return null;
  let hex: string | null;
  try {
    hex = parseSecretsKey(readFileSync(path, 'utf8'), 'the secrets key file');
  } catch {
    hex = null;
  }
  if (hex === null)
    throw new SecretsKeyError('HANGAR_HOME/secrets.key does not hold a 32-byte key (hex or base64)');
  return fromHex(hex);
}

/**
 * Builds the keyring. With HANGAR_SECRETS_KEY set, an existing key file still opens what it sealed
 * (so moving from the generated key to a configured one needs no other step).
 */
export function createSecretKeyring(opts: KeyringOptions): SecretKeyring {
  const configured = opts.key === null ? null : fromHex(opts.key);
  const previous = opts.previousKey === null ? null : fromHex(opts.previousKey);
  let file = readKeyFile(opts.keyPath);
  const current = (): SecretKey => {
    if (configured) return configured;
    if (opts.keyFileAllowed === false) throw new PlatformError('SECRETS_KEY_REQUIRED');
    if (file) return file;
    const created = secretKey(randomBytes(32));
    try {
      // `wx`: never overwrite a key another process just wrote; use that one instead.
      writeFileSync(opts.keyPath, `${created.key.toString('base64')}\n`, { mode: 0o600, flag: 'wx' });
      file = created;
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
      file = readKeyFile(opts.keyPath);
    }
    if (!file) throw new SecretsKeyError('the secrets key file could not be created');
    return file;
  };
  return {
    current,
    currentId: () => (configured ?? file)?.id ?? null,
    byId: (id) => [configured, file, previous].find((k) => k?.id === id) ?? null,
  };
}
