import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Stores } from '@hangar/core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestKey } from '../gateway/test-server.js';
import { createSqliteStores } from '../store/sqlite/index.js';
import { createAuthenticator, hashSecret } from './auth.js';

let dir: string;
let stores: Stores;

beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), 'hangar-auth-'));
  stores = createSqliteStores({ path: join(dir, 'hangar.db') });
});
afterAll(async () => {
  await stores.close();
  rmSync(dir, { recursive: true, force: true });
});

async function code(p: Promise<unknown>): Promise<string> {
  return p.then(
    () => 'resolved',
    (err: { code?: string }) => err.code ?? 'unknown',
  );
}

describe('authenticator', () => {
  it('answers a key already verified without waiting, and never for a wrong secret', async () => {
    const key = await createTestKey(stores.keys, 'alice');
    const auth = createAuthenticator(stores.keys);
    expect(auth.cached(`Key ${key}`)).toBeNull();
    expect((await auth.authenticate(`Key ${key}`)).owner).toBe('alice');
    expect(auth.cached(`Key ${key}`)).toMatchObject({ owner: 'alice', scope: 'API' });
    const [keyId, secret] = key.split(':') as [string, string];
    const wrong = `${keyId}:${secret.slice(0, -1)}${secret.endsWith('0') ? '1' : '0'}`;
    expect(auth.cached(`Key ${wrong}`)).toBeNull();
    expect(await code(auth.authenticate(`Key ${wrong}`))).toBe('AUTH_INVALID');
    expect(await code(auth.authenticate(`Key ${keyId}:short`))).toBe('AUTH_INVALID');
    expect((await auth.authenticate(`Key ${key}`)).owner).toBe('alice');
  });

  it('checks a non-ASCII secret by its hash every time, and never accepts a longer look-alike', async () => {
    await stores.keys.ensureOwner('dora');
    const key = {
      keyId: 'k-dora',
      owner: 'dora',
      scope: 'API' as const,
      name: null,
      createdAt: 1,
      revokedAt: null,
    };
    await stores.keys.insertKey(key, hashSecret('\u00e9a'));
    const auth = createAuthenticator(stores.keys);
    expect((await auth.authenticate('Key k-dora:\u00e9a')).owner).toBe('dora');
    expect(auth.cached('Key k-dora:\u00e9a')).toBeNull();
    expect(auth.cached('Key k-dora:\u00e9aX')).toBeNull();
    expect(await code(auth.authenticate('Key k-dora:\u00e9aX'))).toBe('AUTH_INVALID');
  });

  it('forgets a revoked key once invalidated', async () => {
    const key = await createTestKey(stores.keys, 'bob');
    const keyId = key.split(':')[0]!;
    const auth = createAuthenticator(stores.keys);
    await auth.authenticate(`Key ${key}`);
    await stores.keys.revokeKey(keyId, Date.now());
    auth.invalidate(keyId);
    expect(auth.cached(`Key ${key}`)).toBeNull();
    expect(await code(auth.authenticate(`Key ${key}`))).toBe('AUTH_INVALID');
  });

  it('looks a cached key up again once its time is up', async () => {
    let now = 1_000;
    const key = await createTestKey(stores.keys, 'carol');
    const auth = createAuthenticator(stores.keys, () => now);
    await auth.authenticate(`Key ${key}`);
    await stores.keys.revokeKey(key.split(':')[0]!, now);
    expect(auth.cached(`Key ${key}`)).not.toBeNull();
    now += 60_000;
    expect(auth.cached(`Key ${key}`)).toBeNull();
    expect(await code(auth.authenticate(`Key ${key}`))).toBe('AUTH_INVALID');
  });
});
