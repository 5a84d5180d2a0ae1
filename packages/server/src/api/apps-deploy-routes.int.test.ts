import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { uuidIds } from '@hangar/core';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { DEFAULT_MACHINE_TYPES } from '../config.js';
import { createHttpApp, type HttpApp } from '../http/app.js';
import { createAuthenticator } from '../http/auth.js';
import { createDeployService } from '../services/deploy.js';
import { createKeyService } from '../services/keys.js';
import { openTestStores, type TestStores } from '../services/test-stores.js';
import { registerDeployRoutes } from './apps-deploy-routes.js';

const MANIFEST = { name: 'echo', command: ['node', 'server.js'], machine_type: 'CPU' };

let t: TestStores;
let app: HttpApp;
let admin: string;
let api: string;
let appDir: string;

beforeEach(async () => {
  t = openTestStores();
  appDir = join(t.dir, 'echo');
  mkdirSync(appDir);
  writeFileSync(join(appDir, 'hangar.json'), JSON.stringify(MANIFEST));
  const authenticator = createAuthenticator(t.stores.keys);
  const keys = createKeyService({ keys: t.stores.keys, clock: Date.now, authenticator });
  const deployService = createDeployService({
    ...t.stores,
    machineTypes: DEFAULT_MACHINE_TYPES,
    clock: Date.now,
    ids: uuidIds,
    onRevision: async () => {},
  });
  app = createHttpApp({ logger: false, authenticator, bodyLimit: 1024 * 1024 });
  registerDeployRoutes(app, { deployService });
  await app.ready();
  admin = `Key ${(await keys.createKey('alice', 'ADMIN')).key}`;
  api = `Key ${(await keys.createKey('alice', 'API')).key}`;
});
afterEach(async () => {
  await app.close();
  await t.close();
});

const deploy = (payload: Record<string, unknown>, authorization = admin) =>
  app.inject({ method: 'POST', url: '/v1/serverless/apps', headers: { authorization }, payload });

describe('POST /v1/serverless/apps', () => {
  it('deploys the directory manifest as a revision of the caller owner', async () => {
    const res = await deploy({ path: appDir, message: 'first', annotations: { team: 'ml' } });
    expect(res.statusCode).toBe(201);
    const body = res.json();
    expect(body).toEqual({
      endpoint_id: 'alice/echo',
      revision_id: expect.any(String),
      created_at: expect.stringMatching(/^\d{4}-\d\d-\d\dT.*Z$/),
      status: 'deployed',
    });
    const [rev] = await t.stores.apps.listRevisions('alice', 'echo');
    expect(rev).toMatchObject({
      revisionId: body.revision_id,
      message: 'first',
      annotations: { team: 'ml' },
      deployedBy: 'alice',
      dir: appDir,
      status: 'deployed',
    });
  });

  it('takes the manifest from the body when it carries manifest fields', async () => {
    const res = await deploy({ path: appDir, ...MANIFEST, name: 'echo-two', max_concurrency: 5 });
    expect(res.statusCode).toBe(201);
    expect(res.json().endpoint_id).toBe('alice/echo-two');
    expect((await t.stores.apps.getApp('alice', 'echo-two'))?.manifest.max_concurrency).toBe(5);
    expect((await deploy({ path: appDir })).statusCode).toBe(201);
    expect((await t.stores.apps.listApps('alice')).map((a) => a.name).sort()).toEqual(['echo', 'echo-two']);
  });

  it('answers 403 to an API key and 401 without a key', async () => {
    const forbidden = await deploy({ path: appDir }, api);
    expect(forbidden.statusCode).toBe(403);
    expect(forbidden.json().error.type).toBe('authorization_error');
    const anonymous = await app.inject({
      method: 'POST',
      url: '/v1/serverless/apps',
      payload: { path: appDir },
    });
    expect(anonymous.statusCode).toBe(401);
  });

  it('rejects a bad manifest naming the field', async () => {
    const res = await deploy({ path: appDir, ...MANIFEST, routes: ['/requests'] });
    expect(res.statusCode).toBe(400);
    expect(res.json()).toEqual({
      error: {
        type: 'validation_error',
        code: 'MANIFEST_INVALID',
        message: 'hangar.json: routes[0] must not be under "/requests" (reserved by queue URLs)',
      },
    });
    const unknownField = await deploy({ path: appDir, ...MANIFEST, replicas: 2 });
    expect(unknownField.json().error.message).toBe('hangar.json: replicas is an unknown field');
    expect(await t.stores.apps.listApps()).toEqual([]);
  });

  it('rejects an unknown machine type with 400', async () => {
    const res = await deploy({ path: appDir, ...MANIFEST, machine_type: 'GPU-TPU' });
    expect(res.statusCode).toBe(400);
    expect(res.json().error).toMatchObject({ type: 'validation_error', code: 'MACHINE_TYPE_UNKNOWN' });
    expect(res.json().error.message).toContain('GPU-H100');
  });

  it('rejects a bad path or body field naming it', async () => {
    const missing = await deploy({ message: 'no path' });
    expect(missing.statusCode).toBe(400);
    expect(missing.json().error.message).toContain('path');
    const relative = await deploy({ path: 'echo' });
    expect(relative.json().error).toMatchObject({ type: 'validation_error', code: 'DEPLOY_DIR_INVALID' });
    const badAnnotations = await deploy({ path: appDir, annotations: { team: { nested: true } } });
    expect(badAnnotations.statusCode).toBe(400);
    expect(badAnnotations.json().error.message).toContain('annotations');
  });
});
