import {
  type Clock,
  checkSecretName,
  checkSecretValue,
  createSecretMasker,
  PlatformError,
  SECRETS_PER_OWNER_MAX,
  type SecretStore,
  type StoredSecret,
} from '@hangar/core';
import { openSecret, sealSecret } from './cipher.js';
import type { SecretKeyring } from './keyring.js';
import { SecretsKeyError } from './keyring.js';

/** What a listing shows of a secret: never its value. */
export interface SecretInfo {
  name: string;
  createdAt: number;
  updatedAt: number;
}

/** What the start-up pass did. */
export interface SecretsStartReport {
  total: number;
  /** Re-sealed with the current key (they were sealed with a previous one). */
  resealed: number;
  /** Rows that do not authenticate with the key they name (`SECRET_UNREADABLE` when used). */
  unreadable: { owner: string; name: string }[];
}

/** Owners' secrets: set, list and unset for the API; clear values for runners; masking of output. */
export interface SecretService {
  /** Checks the keys against the stored secrets and re-seals those sealed with a previous key. */
  start(): Promise<SecretsStartReport>;
  set(owner: string, name: string, value: string): Promise<SecretInfo>;
  list(owner: string): Promise<SecretInfo[]>;
  unset(owner: string, name: string): Promise<void>;
  /** The owner's secrets in clear, read from the store now (a runner about to start). */
  forOwner(owner: string): Promise<Record<string, string>>;
  /**
   * Replaces with `***` every value of the owner's secrets this process has seen (current ones, and
   * replaced or unset ones that runners started earlier may still hold).
   */
  mask(owner: string, text: string): string;
}

/** Dependencies of the secret service. */
export interface SecretServiceDeps {
  store: SecretStore;
  keyring: SecretKeyring;
  clock: Clock;
}

const info = (s: StoredSecret): SecretInfo => ({
  name: s.name,
  createdAt: s.createdAt,
  updatedAt: s.updatedAt,
});

/** Creates the secret service. */
export function createSecretService(deps: SecretServiceDeps): SecretService {
  const { store, keyring, clock } = deps;
  /** Values seen per owner, for masking; grows until restart (bounded by the values ever set). */
  const seen = new Map<string, Set<string>>();
  const maskers = new Map<string, (text: string) => string>();
  const remember = (owner: string, value: string) => {
    const values = seen.get(owner) ?? new Set<string>();
    seen.set(owner, values);
    if (values.has(value)) return;
    values.add(value);
    maskers.delete(owner);
  };

  /** Opens one row; throws `SECRET_UNREADABLE` naming the secret (never a value) when it cannot. */
  const open = (s: StoredSecret): string => {
    const key = keyring.byId(s.keyId);
    if (!key) {
      throw new PlatformError(
        'SECRET_UNREADABLE',
        `Secret ${s.name} was sealed with key ${s.keyId}, which is not configured`,
      );
    }
    const value = openSecret(key, s.owner, s.name, s.sealed);
    if (value === null) {
      throw new PlatformError(
        'SECRET_UNREADABLE',
        `Secret ${s.name} does not authenticate with key ${s.keyId}`,
      );
    }
    remember(s.owner, value);
    return value;
  };

  return {
    async start() {
      const rows = await store.listSecrets();
      const missing = new Map<string, Set<string>>();
      const report: SecretsStartReport = { total: rows.length, resealed: 0, unreadable: [] };
      for (const row of rows) {
        if (!keyring.byId(row.keyId)) {
          const owners = missing.get(row.keyId) ?? new Set<string>();
          missing.set(row.keyId, owners.add(row.owner));
        }
      }
      if (missing.size > 0) {
        const which = [...missing].map(([id, owners]) => `key ${id} (owners: ${[...owners].join(', ')})`);
        throw new SecretsKeyError(
          `stored secrets were sealed with ${which.join('; ')}, which is neither HANGAR_SECRETS_KEY, ` +
            'HANGAR_SECRETS_KEY_PREVIOUS nor the key file in HANGAR_HOME: configure the key they were sealed ' +
            'with (as HANGAR_SECRETS_KEY_PREVIOUS to rotate); see docs/config.md, Secrets',
        );
      }
      for (const row of rows) {
        let value: string;
        try {
          value = open(row);
        } catch {
          report.unreadable.push({ owner: row.owner, name: row.name });
          continue;
        }
        if (row.keyId === keyring.currentId()) continue;
        const key = keyring.current();
        await store.putSecret({ ...row, sealed: sealSecret(key, row.owner, row.name, value), keyId: key.id });
        report.resealed++;
      }
      return report;
    },

    async set(owner, name, value) {
      checkSecretName(name);
      checkSecretValue(value);
      const existing = await store.listSecrets(owner);
      if (!existing.some((s) => s.name === name) && existing.length >= SECRETS_PER_OWNER_MAX) {
        throw new PlatformError('SECRET_LIMIT_REACHED');
      }
      const key = keyring.current();
      const now = clock();
      remember(owner, value);
      await store.putSecret({
        owner,
        name,
        sealed: sealSecret(key, owner, name, value),
        keyId: key.id,
        createdAt: now,
        updatedAt: now,
      });
      const stored = (await store.listSecrets(owner)).find((s) => s.name === name);
      return stored ? info(stored) : { name, createdAt: now, updatedAt: now };
    },

    async list(owner) {
      return (await store.listSecrets(owner)).map(info);
    },

    async unset(owner, name) {
      if (!(await store.deleteSecret(owner, name))) {
        throw new PlatformError('SECRET_NOT_FOUND', `No secret named ${name}`);
      }
    },

    async forOwner(owner) {
      const env: Record<string, string> = {};
      for (const row of await store.listSecrets(owner)) env[row.name] = open(row);
      return env;
    },

    mask(owner, text) {
      const values = seen.get(owner);
      if (!values) return text;
      const masker = maskers.get(owner) ?? createSecretMasker(values);
      maskers.set(owner, masker);
      return masker(text);
    },
  };
}
