import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { createHttpApp, type HttpApp } from '../http/app.js';
import { createAuthenticator } from '../http/auth.js';
import { createKeyService, type KeyService } from '../services/keys.js';
import { openTestStores, type TestStores } from '../services/test-stores.js';
import { registerKeyRoutes } from './keys-routes.js';

let t: TestStores;
let app: HttpApp;
let keys: KeyService;
let aliceAdmin: string;
let aliceApi: string;
let bobAdmin: string;

beforeEach(async () => {
  t = openTestStores();
  const authenticator = createAuthenticator(t.stores.keys);
  keys = createKeyService({ keys: t.stores.keys, clock: Date.now, authenticator });
  app = createHttpApp({ logger: false, authenticator, bodyLimit: 1024 * 1024 });
  registerKeyRoutes(app, { keyService: keys });
  await app.ready();
  aliceAdmin = (await keys.createKey('alice', 'ADMIN')).key;
  aliceApi = (await keys.createKey('alice', 'API')).key;
  bobAdmin = (await keys.createKey('bob', 'ADMIN')).key;
});
afterEach(async () => {
  await app.close();
  await t.close();
});

const call = (method: 'GET' | 'POST' | 'DELETE', url: string, key?: string, payload?: unknown) =>
  app.inject({
    method,
    url,
    headers: key === undefined ? {} : { authorization: key },
    ...(payload === undefined ? {} : { payload: payload as Record<string, unknown> }),
  });

describe('/v1/keys authentication', () => {
  it('answers 401 in the fal envelope for a missing, malformed, unknown or revoked key', async () => {
    const revoked = await keys.createKey('alice', 'ADMIN');
    await keys.revokeKey('alice', revoked.keyId);
    const cases: [string | undefined, string][] = [
      [undefined, 'AUTH_MISSING'],
      ['Key nocolon', 'AUTH_MALFORMED'],
      ['Bearer abc:def', 'AUTH_MALFORMED'],
      ['Key unknown:secret', 'AUTH_INVALID'],
      [`Key ${aliceAdmin.split(':')[0]}:wrong`, 'AUTH_INVALID'],
      [`Key ${revoked.key}`, 'AUTH_INVALID'],
    ];
    for (const [header, code] of cases) {
      const res = await call('GET', '/v1/keys', header);
      expect(res.statusCode).toBe(401);
      expect(res.json()).toEqual({
        error: { type: 'authorization_error', message: expect.any(String), code },
      });
    }
  });

  it('answers 403 to an API key', async () => {
    const res = await call('GET', '/v1/keys', `Key ${aliceApi}`);
    expect(res.statusCode).toBe(403);
    expect(res.json().error).toMatchObject({ type: 'authorization_error', code: 'AUTH_ADMIN_REQUIRED' });
  });
});

describe('/v1/keys', () => {
  it('creates a key usable at once, shown only on creation', async () => {
    const res = await call('POST', '/v1/keys', `Key ${aliceAdmin}`, { scope: 'API', name: 'ci' });
    expect(res.statusCode).toBe(201);
    const body = res.json();
    expect(body).toEqual({
      key_id: expect.any(String),
      key: expect.stringMatching(/^[0-9a-f-]{36}:[0-9a-f]{64}$/),
      scope: 'API',
      name: 'ci',
      created_at: expect.stringMatching(/^\d{4}-\d\d-\d\dT/),
    });
    expect((await call('GET', '/v1/keys', `Key ${body.key}`)).statusCode).toBe(403);
    const listed = (await call('GET', '/v1/keys', `Key ${aliceAdmin}`)).json();
    expect(JSON.stringify(listed)).not.toContain(body.key.split(':')[1]);
  });

  it('lists only the caller owner keys', async () => {
    const res = await call('GET', '/v1/keys', `Key ${aliceAdmin}`);
    expect(res.statusCode).toBe(200);
    const listed = res.json().keys as { key_id: string; scope: string; revoked_at: string | null }[];
    expect(listed.map((k) => k.scope).sort()).toEqual(['ADMIN', 'API']);
    expect(listed.every((k) => k.revoked_at === null)).toBe(true);
    expect(listed.map((k) => k.key_id)).not.toContain(bobAdmin.split(':')[0]);
  });

  it('rejects a bad body naming the field', async () => {
    const res = await call('POST', '/v1/keys', `Key ${aliceAdmin}`, { scope: 'ROOT' });
    expect(res.statusCode).toBe(400);
    expect(res.json().error).toMatchObject({ type: 'validation_error', code: 'REQUEST_INVALID' });
    expect(res.json().error.message).toContain('scope');
    const extra = await call('POST', '/v1/keys', `Key ${aliceAdmin}`, { scope: 'API', owner: 'bob' });
    expect(extra.statusCode).toBe(400);
  });

  it("revokes the caller's keys with 204, and answers 404 for another owner's key", async () => {
    const bobKeyId = bobAdmin.split(':')[0]!;
    const other = await call('DELETE', `/v1/keys/${bobKeyId}`, `Key ${aliceAdmin}`);
    expect(other.statusCode).toBe(404);
    expect(other.json().error).toMatchObject({ type: 'not_found', code: 'KEY_NOT_FOUND' });
    expect((await call('GET', '/v1/keys', `Key ${bobAdmin}`)).statusCode).toBe(200);

    const apiKeyId = aliceApi.split(':')[0]!;
    const res = await call('DELETE', `/v1/keys/${apiKeyId}`, `Key ${aliceAdmin}`);
    expect(res.statusCode).toBe(204);
    expect(res.body).toBe('');
    expect((await call('GET', '/v1/keys', `Key ${aliceApi}`)).statusCode).toBe(401);
    const listed = (await call('GET', '/v1/keys', `Key ${aliceAdmin}`)).json().keys as {
      key_id: string;
      revoked_at: string | null;
    }[];
    expect(listed.find((k) => k.key_id === apiKeyId)?.revoked_at).toMatch(/^\d{4}-/);
  });
});
