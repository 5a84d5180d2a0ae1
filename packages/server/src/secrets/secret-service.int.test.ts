import { randomBytes } from 'node:crypto';
import { existsSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { PlatformError } from '@hangar/core';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { createSqliteStores, type SqliteStores } from '../store/sqlite/index.js';
import { createSecretKeyring, type KeyringOptions, SecretsKeyError } from './keyring.js';
import { createSecretService, type SecretService } from './secret-service.js';

let dir: string;
let dbPath: string;
let stores: SqliteStores;
const hex = () => randomBytes(32).toString('hex');

beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'hangar-secrets-'));
  dbPath = join(dir, 'hangar.db');
  stores = createSqliteStores({ path: dbPath });
});
afterEach(async () => {
  await stores.close();
  rmSync(dir, { recursive: true, force: true });
});

function service(keys: Partial<KeyringOptions> = {}): SecretService {
  const keyring = createSecretKeyring({
    key: null,
    previousKey: null,
    keyPath: join(dir, 'secrets.key'),
    ...keys,
  });
  return createSecretService({ store: stores.secrets, keyring, clock: Date.now });
}

async function dbBytes(): Promise<Buffer> {
  await stores.flush();
  const wal = `${dbPath}-wal`;
  return Buffer.concat([readFileSync(dbPath), existsSync(wal) ? readFileSync(wal) : Buffer.alloc(0)]);
}

const codeOf = (p: Promise<unknown>) =>
  p.then(
    () => null,
    (e: PlatformError) => e.code,
  );

describe('secret service', () => {
  it('seals values at rest and gives them back to runners, per owner', async () => {
    const s = service();
    expect(existsSync(join(dir, 'secrets.key'))).toBe(false);
    await s.set('acme', 'HF_TOKEN', 'hf_value_that_is_secret');
    await s.set('zeta', 'HF_TOKEN', 'zeta_value_that_is_secret');
    // The key file appears on first use, readable by the server's user only.
    expect(statSync(join(dir, 'secrets.key')).mode & 0o777).toBe(0o600);
    expect(await s.forOwner('acme')).toEqual({ HF_TOKEN: 'hf_value_that_is_secret' });
    expect(await s.forOwner('nobody')).toEqual({});
    expect((await s.list('acme')).map((x) => x.name)).toEqual(['HF_TOKEN']);
    const bytes = await dbBytes();
    expect(bytes.includes('hf_value_that_is_secret')).toBe(false);
    expect(bytes.includes('zeta_value_that_is_secret')).toBe(false);
  });

  it('keeps created_at and moves updated_at when a value is replaced; unset forgets it', async () => {
    let now = 1000;
    const keyring = createSecretKeyring({ key: hex(), previousKey: null, keyPath: join(dir, 'k') });
    const s = createSecretService({ store: stores.secrets, keyring, clock: () => now });
    expect(await s.set('acme', 'A_B', 'first-value')).toEqual({
      name: 'A_B',
      createdAt: 1000,
      updatedAt: 1000,
    });
    now = 2000;
    expect(await s.set('acme', 'A_B', 'second-value')).toEqual({
      name: 'A_B',
      createdAt: 1000,
      updatedAt: 2000,
    });
    expect(await s.forOwner('acme')).toEqual({ A_B: 'second-value' });
    await s.unset('acme', 'A_B');
    expect(await codeOf(s.unset('acme', 'A_B'))).toBe('SECRET_NOT_FOUND');
    expect(await s.forOwner('acme')).toEqual({});
    // Replaced and unset values stay masked: a runner started before may still print them.
    expect(s.mask('acme', 'first-value second-value')).toBe('*** ***');
    expect(s.mask('zeta', 'first-value')).toBe('first-value');
  });

  it('refuses bad names, reserved names, bad values and a 201st secret', async () => {
    const s = service();
    expect(await codeOf(s.set('acme', 'lower', 'v'))).toBe('SECRET_NAME_INVALID');
    expect(await codeOf(s.set('acme', 'PORT', 'v'))).toBe('SECRET_NAME_RESERVED');
    expect(await codeOf(s.set('acme', 'HANGAR_X', 'v'))).toBe('SECRET_NAME_RESERVED');
    expect(await codeOf(s.set('acme', 'OK', ''))).toBe('SECRET_VALUE_INVALID');
    for (let i = 0; i < 200; i++) await s.set('acme', `S${i}`, 'v');
    expect(await codeOf(s.set('acme', 'S200', 'v'))).toBe('SECRET_LIMIT_REACHED');
    expect(await codeOf(s.set('acme', 'S0', 'replaced'))).toBeNull();
  });

  it('re-seals with the new key at start when the old one is given as previous', async () => {
    const oldKey = hex();
    await service({ key: oldKey }).set('acme', 'TOKEN', 'rotate-me-please');
    const before = await stores.secrets.listSecrets();
    const newKey = hex();
    const rotated = service({ key: newKey, previousKey: oldKey });
    expect(await rotated.start()).toEqual({ total: 1, resealed: 1, unreadable: [] });
    const after = await stores.secrets.listSecrets();
    expect(after[0]!.keyId).not.toBe(before[0]!.keyId);
    expect(after[0]!.updatedAt).toBe(before[0]!.updatedAt);
    // The old key is no longer needed.
    const next = service({ key: newKey });
    expect(await next.start()).toEqual({ total: 1, resealed: 0, unreadable: [] });
    expect(await next.forOwner('acme')).toEqual({ TOKEN: 'rotate-me-please' });
  });

  it('moves secrets sealed with the generated key file to a configured key without other steps', async () => {
    await service().set('acme', 'TOKEN', 'from-the-file-key');
    const s = service({ key: hex() });
    expect((await s.start()).resealed).toBe(1);
    expect(await s.forOwner('acme')).toEqual({ TOKEN: 'from-the-file-key' });
  });

  it('refuses to start with a key that never sealed the stored secrets, naming the key and owners', async () => {
    await service({ key: hex() }).set('acme', 'TOKEN', 'sealed-with-lost-key');
    const wrong = service({ key: hex() });
    await expect(wrong.start()).rejects.toThrow(SecretsKeyError);
    await expect(wrong.start()).rejects.toThrow(
      /sealed with key [0-9a-f]{16} \(owners: acme\).*HANGAR_SECRETS_KEY_PREVIOUS/,
    );
    expect(await codeOf(wrong.forOwner('acme'))).toBe('SECRET_UNREADABLE');
  });

  it('refuses a key file that holds no key', async () => {
    writeFileSync(join(dir, 'secrets.key'), 'not a key\n');
    expect(() => service()).toThrow(/secrets.key does not hold a 32-byte key/);
  });

  it('never opens a value moved to another row or altered: a clear per-secret error, never garbage', async () => {
    const s = service({ key: hex() });
    await s.set('acme', 'TOKEN', 'value-of-acme');
    await s.set('zeta', 'TOKEN', 'value-of-zeta');
    const [acme, zeta] = await stores.secrets.listSecrets();
    // zeta's row given acme's sealed value (a swapped row), and a flipped bit in acme's own.
    await stores.secrets.putSecret({ ...zeta!, sealed: acme!.sealed });
    const flipped = Buffer.from(acme!.sealed);
    flipped[flipped.length - 1]! ^= 1;
    await stores.secrets.putSecret({ ...acme!, sealed: flipped });
    const report = await s.start();
    expect(report.unreadable).toEqual([
      { owner: 'acme', name: 'TOKEN' },
      { owner: 'zeta', name: 'TOKEN' },
    ]);
    await expect(s.forOwner('zeta')).rejects.toThrow(/Secret TOKEN does not authenticate with key/);
    await s.set('zeta', 'TOKEN', 'set-again');
    expect(await s.forOwner('zeta')).toEqual({ TOKEN: 'set-again' });
  });
});
