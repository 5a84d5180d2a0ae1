import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { createHttpApp, type HttpApp } from '../http/app.js';
import { createAuthenticator } from '../http/auth.js';
import { createSecretKeyring } from '../secrets/keyring.js';
import { createSecretService, type SecretService } from '../secrets/secret-service.js';
import { createKeyService } from '../services/keys.js';
import { createSqliteStores, type SqliteStores } from '../store/sqlite/index.js';
import { registerSecretRoutes } from './secrets-routes.js';

const VALUE = 'hf_route_secret_value_123';

let dir: string;
let stores: SqliteStores;
let app: HttpApp;
let secrets: SecretService;
let aliceAdmin: string;
let aliceApi: string;
let bobAdmin: string;

beforeEach(async () => {
  dir = mkdtempSync(join(tmpdir(), 'hangar-secret-routes-'));
  stores = createSqliteStores({ path: join(dir, 'hangar.db') });
  const authenticator = createAuthenticator(stores.keys);
  const keys = createKeyService({ keys: stores.keys, clock: Date.now, authenticator });
  const keyring = createSecretKeyring({ key: null, previousKey: null, keyPath: join(dir, 'secrets.key') });
  secrets = createSecretService({ store: stores.secrets, keyring, clock: Date.now });
  app = createHttpApp({ logger: false, authenticator, bodyLimit: 1024 * 1024 });
  registerSecretRoutes(app, { secrets });
  await app.ready();
  aliceAdmin = (await keys.createKey('alice', 'ADMIN')).key;
  aliceApi = (await keys.createKey('alice', 'API')).key;
  bobAdmin = (await keys.createKey('bob', 'ADMIN')).key;
});
afterEach(async () => {
  await app.close();
  await stores.close();
  rmSync(dir, { recursive: true, force: true });
});

const call = (method: 'GET' | 'PUT' | 'DELETE', url: string, key: string, payload?: unknown) =>
  app.inject({
    method,
    url,
    headers: { authorization: `Key ${key}` },
    ...(payload === undefined ? {} : { payload: payload as Record<string, unknown> }),
  });

describe('/v1/secrets', () => {
  it("sets, lists (names and times only) and unsets the caller owner's secrets", async () => {
    const set = await call('PUT', '/v1/secrets/HF_TOKEN', aliceAdmin, { value: VALUE });
    expect(set.statusCode).toBe(200);
    expect(set.json()).toEqual({
      name: 'HF_TOKEN',
      created_at: expect.any(String),
      updated_at: expect.any(String),
    });
    expect(set.body).not.toContain(VALUE);
    const list = await call('GET', '/v1/secrets', aliceAdmin);
    expect(list.json()).toEqual({ secrets: [set.json()] });
    expect(list.body).not.toContain(VALUE);
    expect(await secrets.forOwner('alice')).toEqual({ HF_TOKEN: VALUE });
    const unset = await call('DELETE', '/v1/secrets/HF_TOKEN', aliceAdmin);
    expect(unset.statusCode).toBe(204);
    expect((await call('GET', '/v1/secrets', aliceAdmin)).json()).toEqual({ secrets: [] });
    const again = await call('DELETE', '/v1/secrets/HF_TOKEN', aliceAdmin);
    expect(again.statusCode).toBe(404);
    expect(again.json()).toEqual({
      error: { type: 'not_found', message: expect.any(String), code: 'SECRET_NOT_FOUND' },
    });
  });

  it('answers 403 in the fal envelope to an API key, on every operation', async () => {
    await call('PUT', '/v1/secrets/HF_TOKEN', aliceAdmin, { value: VALUE });
    for (const [method, url, body] of [
      ['GET', '/v1/secrets', undefined],
      ['PUT', '/v1/secrets/HF_TOKEN', { value: 'other-value' }],
      ['DELETE', '/v1/secrets/HF_TOKEN', undefined],
    ] as const) {
      const res = await call(method, url, aliceApi, body);
      expect(res.statusCode).toBe(403);
      expect(res.json()).toEqual({
        error: { type: 'authorization_error', message: expect.any(String), code: 'AUTH_ADMIN_REQUIRED' },
      });
    }
    expect(await secrets.forOwner('alice')).toEqual({ HF_TOKEN: VALUE });
  });

  it('keeps owners apart: another owner neither sees nor touches them', async () => {
    await call('PUT', '/v1/secrets/HF_TOKEN', aliceAdmin, { value: VALUE });
    expect((await call('GET', '/v1/secrets', bobAdmin)).json()).toEqual({ secrets: [] });
    expect((await call('DELETE', '/v1/secrets/HF_TOKEN', bobAdmin)).statusCode).toBe(404);
    // Bob's secret of the same name is his own.
    expect((await call('PUT', '/v1/secrets/HF_TOKEN', bobAdmin, { value: 'bobs-value' })).statusCode).toBe(
      200,
    );
    expect(await secrets.forOwner('alice')).toEqual({ HF_TOKEN: VALUE });
    expect(await secrets.forOwner('bob')).toEqual({ HF_TOKEN: 'bobs-value' });
  });

  it('refuses bad names, reserved names and bad bodies without echoing the value', async () => {
    const cases: [string, unknown, number, string][] = [
      ['/v1/secrets/hf_token', { value: VALUE }, 400, 'SECRET_NAME_INVALID'],
      ['/v1/secrets/PORT', { value: VALUE }, 400, 'SECRET_NAME_RESERVED'],
      ['/v1/secrets/FAL_KEY', { value: VALUE }, 400, 'SECRET_NAME_RESERVED'],
      ['/v1/secrets/OK', { value: '' }, 400, 'SECRET_VALUE_INVALID'],
      ['/v1/secrets/OK', { value: VALUE, extra: VALUE }, 400, 'REQUEST_INVALID'],
      ['/v1/secrets/OK', { value: 'x'.repeat(40_000) }, 400, 'REQUEST_INVALID'],
      ['/v1/secrets/OK', {}, 400, 'REQUEST_INVALID'],
    ];
    for (const [url, body, status, code] of cases) {
      const res = await call('PUT', url, aliceAdmin, body);
      expect([res.statusCode, res.json().error.code]).toEqual([status, code]);
      expect(res.body).not.toContain(VALUE);
    }
    // A body that is not JSON: the parser's message must not quote it.
    const raw = await app.inject({
      method: 'PUT',
      url: '/v1/secrets/OK',
      headers: { authorization: `Key ${aliceAdmin}`, 'content-type': 'application/json' },
      payload: `{"value": ${VALUE}}`,
    });
    expect(raw.statusCode).toBe(400);
    expect(raw.body).not.toContain(VALUE);
    expect((await call('GET', '/v1/secrets', aliceAdmin)).json()).toEqual({ secrets: [] });
  });
});
