import { readFileSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { PlatformError } from '@hangar/core';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { createAuthenticator, hashSecret } from '../http/auth.js';
import { createKeyService, type KeyService } from './keys.js';
import { openTestStores, type TestStores } from './test-stores.js';

let t: TestStores;
let svc: KeyService;
let now = 1_000;
const clock = () => now;

beforeEach(() => {
  now = 1_000;
  t = openTestStores(clock);
  svc = createKeyService({ keys: t.stores.keys, clock });
});
afterEach(() => t.close());

async function rejection(p: Promise<unknown>): Promise<PlatformError> {
  const err = await p.then(
    () => null,
    (e: unknown) => e,
  );
  if (!(err instanceof PlatformError)) throw new Error(`expected a PlatformError, got ${String(err)}`);
  return err;
}

describe('createKey', () => {
  it('creates a uuid key with a 256-bit secret stored only as its hash', async () => {
    const created = await svc.createKey('alice', 'API', 'ci');
    expect(created.keyId).toMatch(/^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/);
    expect(created.secret).toMatch(/^[0-9a-f]{64}$/);
    expect(created.key).toBe(`${created.keyId}:${created.secret}`);
    expect(created.record).toEqual({
      keyId: created.keyId,
      owner: 'alice',
      scope: 'API',
      name: 'ci',
      createdAt: 1_000,
      revokedAt: null,
    });
    const stored = await t.stores.keys.findKey(created.keyId);
    expect(stored?.secretHash).toBe(hashSecret(created.secret));
    expect(stored?.secretHash).not.toContain(created.secret);
    expect(await t.stores.keys.listOwners()).toEqual(['alice']);
  });

  it('rejects an invalid owner name', async () => {
    expect((await rejection(svc.createKey('Not Valid', 'API'))).code).toBe('OWNER_INVALID');
  });

  it('lists keys of one owner or all', async () => {
    await svc.createKey('alice', 'API');
    await svc.createKey('bob', 'ADMIN');
    expect((await svc.listKeys('alice')).map((k) => k.owner)).toEqual(['alice']);
    expect(await svc.listKeys()).toHaveLength(2);
  });
});

describe('revokeKey', () => {
  it('lets an owner revoke its own key, and the authenticator forgets it at once', async () => {
    const auth = createAuthenticator(t.stores.keys, clock);
    svc = createKeyService({ keys: t.stores.keys, clock, authenticator: auth });
    const k = await svc.createKey('alice', 'API');
    expect((await auth.authenticate(`Key ${k.key}`)).owner).toBe('alice');
    now = 2_000;
    const revoked = await svc.revokeKey('alice', k.keyId);
    expect(revoked.revokedAt).toBe(2_000);
    expect((await rejection(auth.authenticate(`Key ${k.key}`))).code).toBe('AUTH_INVALID');
    now = 3_000;
    expect((await svc.revokeKey('alice', k.keyId)).revokedAt).toBe(2_000);
  });

  it("hides other owners' keys behind KEY_NOT_FOUND, but the operator may revoke any", async () => {
    const k = await svc.createKey('alice', 'API');
    const err = await rejection(svc.revokeKey('bob', k.keyId));
    expect(err.code).toBe('KEY_NOT_FOUND');
    expect(err.status).toBe(404);
    expect((await rejection(svc.revokeKey('bob', 'no-such-key'))).message).toBe(
      err.message.replace(k.keyId, 'no-such-key'),
    );
    expect((await t.stores.keys.findKey(k.keyId))?.key.revokedAt).toBeNull();
    await svc.revokeKey(null, k.keyId);
    expect((await t.stores.keys.findKey(k.keyId))?.key.revokedAt).toBe(1_000);
  });
});

describe('bootstrapAdmin', () => {
  it('creates the owner and an ADMIN key on first start, written mode 0600, and reuses it after', async () => {
    const adminKeyPath = join(t.dir, 'home', 'admin.key');
    const first = await svc.bootstrapAdmin({ owner: 'demo', adminKeyPath });
    expect(first.created).toBe(true);
    expect(readFileSync(adminKeyPath, 'utf8').trim()).toBe(first.key);
    expect(statSync(adminKeyPath).mode & 0o777).toBe(0o600);
    const principal = await createAuthenticator(t.stores.keys).authenticate(`Key ${first.key}`);
    expect(principal).toMatchObject({ owner: 'demo', scope: 'ADMIN' });

    const again = await createKeyService({ keys: t.stores.keys, clock }).bootstrapAdmin({
      owner: 'demo',
      adminKeyPath,
    });
    expect(again).toEqual({ key: first.key, created: false });
    expect(await svc.listKeys('demo')).toHaveLength(1);
  });

  it('replaces a key file that no longer matches an active admin key', async () => {
    const adminKeyPath = join(t.dir, 'admin.key');
    writeFileSync(adminKeyPath, 'stale:secret\n');
    const boot = await svc.bootstrapAdmin({ owner: 'demo', adminKeyPath });
    expect(boot.created).toBe(true);
    expect(boot.key).not.toBe('stale:secret');
    const revoked = boot.key.split(':')[0]!;
    await svc.revokeKey(null, revoked);
    const next = await svc.bootstrapAdmin({ owner: 'demo', adminKeyPath });
    expect(next.created).toBe(true);
    expect(next.key).not.toBe(boot.key);
  });

  it('uses a configured id:secret, idempotently, and replaces a stored secret that differs', async () => {
    const adminKeyPath = join(t.dir, 'admin.key');
    const auth = createAuthenticator(t.stores.keys, clock);
    svc = createKeyService({ keys: t.stores.keys, clock, authenticator: auth });
    const first = await svc.bootstrapAdmin({ owner: 'ops', adminKey: 'admin-1:first-secret', adminKeyPath });
    expect(first).toEqual({ key: 'admin-1:first-secret', created: true });
    expect(readFileSync(adminKeyPath, 'utf8').trim()).toBe('admin-1:first-secret');
    expect(await auth.authenticate('Key admin-1:first-secret')).toEqual({
      keyId: 'admin-1',
      owner: 'ops',
      scope: 'ADMIN',
    });

    const same = await svc.bootstrapAdmin({ owner: 'ops', adminKey: 'admin-1:first-secret', adminKeyPath });
    expect(same.created).toBe(false);

    const rotated = await svc.bootstrapAdmin({
      owner: 'ops',
      adminKey: 'admin-1:second-secret',
      adminKeyPath,
    });
    expect(rotated).toEqual({ key: 'admin-1:second-secret', created: false });
    expect((await rejection(auth.authenticate('Key admin-1:first-secret'))).code).toBe('AUTH_INVALID');
    expect((await auth.authenticate('Key admin-1:second-secret')).scope).toBe('ADMIN');
    expect(await svc.listKeys('ops')).toHaveLength(1);
    expect(readFileSync(adminKeyPath, 'utf8').trim()).toBe('admin-1:second-secret');
  });
});
