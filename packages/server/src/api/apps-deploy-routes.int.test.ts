import { readdirSync } from 'node:fs';
import { join } from 'node:path';
import { uuidIds } from '@hangar/core';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { createDiskFileStore } from '../adapters/disk/file-store.js';
import { type BundleStore, createBundleStore } from '../bundles/bundle-store.js';
import { tarGz } from '../bundles/tar-writer.test-helper.js';
import { DEFAULT_MACHINE_TYPES } from '../config.js';
import { createHttpApp, type HttpApp } from '../http/app.js';
import { createAuthenticator } from '../http/auth.js';
import { createDeployService } from '../services/deploy.js';
import { createKeyService } from '../services/keys.js';
import { openTestStores, type TestStores } from '../services/test-stores.js';
import { registerDeployRoutes } from './apps-deploy-routes.js';
import { registerBundleRoutes } from './bundles-routes.js';

const MANIFEST = { name: 'echo', command: ['node', 'server.js'], machine_type: 'CPU' };
const BUNDLE = tarGz([
  { path: 'hangar.json', body: JSON.stringify(MANIFEST) },
  { path: 'server.js', body: '' },
]);

let t: TestStores;
let app: HttpApp;
let bundles: BundleStore;
let admin: string;
let api: string;
let rival: string;

beforeEach(async () => {
  t = openTestStores();
  const authenticator = createAuthenticator(t.stores.keys);
  const keys = createKeyService({ keys: t.stores.keys, clock: Date.now, authenticator });
  bundles = createBundleStore({
    root: join(t.dir, 'bundles'),
    objects: createDiskFileStore(join(t.dir, 'storage')),
    limits: { maxBytes: 64 * 1024, maxUnpackedBytes: 1 << 20, maxFiles: 100 },
    apps: t.stores.apps,
    clock: Date.now,
  });
  const deployService = createDeployService({
    ...t.stores,
    machineTypes: DEFAULT_MACHINE_TYPES,
    clock: Date.now,
    ids: uuidIds,
    bundles,
    onRevision: async () => {},
  });
  app = createHttpApp({ logger: false, authenticator, bodyLimit: 1024 * 1024 });
  registerBundleRoutes(app, { bundles });
  registerDeployRoutes(app, { deployService });
  await app.ready();
  admin = `Key ${(await keys.createKey('alice', 'ADMIN')).key}`;
  api = `Key ${(await keys.createKey('alice', 'API')).key}`;
  rival = `Key ${(await keys.createKey('rival', 'ADMIN')).key}`;
});
afterEach(async () => {
  await app.close();
  await t.close();
});

const deploy = (payload: Record<string, unknown>, authorization = admin) =>
  app.inject({ method: 'POST', url: '/v1/serverless/apps', headers: { authorization }, payload });

const upload = (payload: Buffer, authorization = admin, contentType = 'application/gzip') =>
  app.inject({
    method: 'POST',
    url: '/v1/serverless/bundles',
    headers: { authorization, 'content-type': contentType },
    payload,
  });

async function uploaded(authorization = admin): Promise<string> {
  const res = await upload(BUNDLE, authorization);
  expect(res.statusCode, res.body).toBeLessThan(300);
  return res.json().bundle;
}

describe('POST /v1/serverless/bundles and GET|HEAD /v1/serverless/bundles/{digest}', () => {
  it('stores an upload by digest: 201 the first time for an owner, 200 after, one copy on disk', async () => {
    const first = await upload(BUNDLE);
    expect(first.statusCode).toBe(201);
    expect(first.json()).toEqual({
      bundle: expect.stringMatching(/^sha256:[0-9a-f]{64}$/),
      size: BUNDLE.length,
      created_at: expect.stringMatching(/Z$/),
    });
    const again = await upload(BUNDLE, admin, 'application/octet-stream');
    expect(again.statusCode).toBe(200);
    expect(again.json()).toEqual(first.json());
    expect((await upload(BUNDLE, rival)).statusCode).toBe(201);
    expect(readdirSync(join(t.dir, 'storage', 'objects', 'bundles'))).toHaveLength(1);

    const url = `/v1/serverless/bundles/${first.json().bundle}`;
    const got = await app.inject({ method: 'GET', url, headers: { authorization: admin } });
    expect(got.json()).toEqual(first.json());
    const head = await app.inject({ method: 'HEAD', url, headers: { authorization: admin } });
    expect(head.statusCode).toBe(200);
  });

  it('answers 404 for a digest the owner did not upload, whoever else did', async () => {
    const digest = await uploaded(rival);
    const url = `/v1/serverless/bundles/${digest}`;
    const foreign = await app.inject({ method: 'GET', url, headers: { authorization: admin } });
    const unknown = await app.inject({
      method: 'GET',
      url: `/v1/serverless/bundles/sha256:${'2'.repeat(64)}`,
      headers: { authorization: admin },
    });
    expect(foreign.statusCode).toBe(404);
    expect(foreign.json()).toEqual(unknown.json());
    expect(foreign.json().error.code).toBe('BUNDLE_NOT_FOUND');
    expect((await app.inject({ method: 'HEAD', url, headers: { authorization: admin } })).statusCode).toBe(
      404,
    );
  });

  it('refuses unsafe, oversized and non-bundle bodies, and API keys', async () => {
    const unsafe = await upload(tarGz([{ path: '../x', body: 'x' }]));
    expect(unsafe.statusCode).toBe(400);
    expect(unsafe.json().error).toMatchObject({
      code: 'BUNDLE_INVALID',
      message: '"../x" leaves the bundle (..)',
    });
    const big = await upload(Buffer.alloc(64 * 1024 + 1));
    expect(big.statusCode).toBe(413);
    expect(big.json().error.code).toBe('BUNDLE_TOO_LARGE');
    const json = await app.inject({
      method: 'POST',
      url: '/v1/serverless/bundles',
      headers: { authorization: admin },
      payload: { path: '/' },
    });
    expect(json.json().error.code).toBe('BUNDLE_INVALID');
    expect((await upload(BUNDLE, api)).statusCode).toBe(403);
  });
});

describe('POST /v1/serverless/apps', () => {
  it("deploys an uploaded bundle's manifest as a revision of the caller owner", async () => {
    const bundle = await uploaded();
    const res = await deploy({ bundle, message: 'first', annotations: { team: 'ml' } });
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
      bundle,
      dir: await bundles.treeDir(bundle),
      status: 'deployed',
    });
  });

  it('takes the manifest from the body when it carries manifest fields', async () => {
    const bundle = await uploaded();
    const res = await deploy({ bundle, ...MANIFEST, name: 'echo-two', max_concurrency: 5 });
    expect(res.statusCode).toBe(201);
    expect(res.json().endpoint_id).toBe('alice/echo-two');
    expect((await t.stores.apps.getApp('alice', 'echo-two'))?.manifest.max_concurrency).toBe(5);
    expect((await deploy({ bundle })).statusCode).toBe(201);
    expect((await t.stores.apps.listApps('alice')).map((a) => a.name).sort()).toEqual(['echo', 'echo-two']);
  });

  it("refuses another owner's digest with the same 404 as an unknown one", async () => {
    const bundle = await uploaded(rival);
    const foreign = await deploy({ bundle });
    expect(foreign.statusCode).toBe(404);
    expect(foreign.json().error.code).toBe('BUNDLE_NOT_FOUND');
    const unknown = await deploy({ bundle: `sha256:${'3'.repeat(64)}` });
    expect(foreign.json().error.message.replace(bundle, 'D')).toBe(
      unknown.json().error.message.replace(`sha256:${'3'.repeat(64)}`, 'D'),
    );
    expect(await t.stores.apps.listApps()).toEqual([]);
  });

  it('refuses any body with a path, the same way whatever the path, without echoing it', async () => {
    const bundle = await uploaded();
    const answers = [];
    for (const payload of [
      { path: '/' },
      { path: '/root', ...MANIFEST },
      { path: join(t.dir, 'bundles'), bundle },
      { path: 'relative/dir', message: 'x' },
      { path: 42 },
    ]) {
      const res = await deploy(payload);
      expect(res.statusCode).toBe(400);
      expect(res.body).not.toContain('root');
      expect(res.body).not.toContain(t.dir);
      answers.push(res.json());
    }
    expect(new Set(answers.map((a) => JSON.stringify(a))).size).toBe(1);
    expect(answers[0].error).toMatchObject({ type: 'validation_error', code: 'DEPLOY_PATH_UNSUPPORTED' });
    expect(await t.stores.apps.listApps()).toEqual([]);
  });

  it('answers 403 to an API key and 401 without a key', async () => {
    const bundle = await uploaded();
    const forbidden = await deploy({ bundle }, api);
    expect(forbidden.statusCode).toBe(403);
    expect(forbidden.json().error.type).toBe('authorization_error');
    const anonymous = await app.inject({ method: 'POST', url: '/v1/serverless/apps', payload: { bundle } });
    expect(anonymous.statusCode).toBe(401);
  });

  it('rejects a bad manifest naming the field', async () => {
    const bundle = await uploaded();
    const res = await deploy({ bundle, ...MANIFEST, routes: ['/requests'] });
    expect(res.statusCode).toBe(400);
    expect(res.json()).toEqual({
      error: {
        type: 'validation_error',
        code: 'MANIFEST_INVALID',
        message: 'hangar.json: routes[0] must not be under "/requests" (reserved by queue URLs)',
      },
    });
    const unknownField = await deploy({ bundle, ...MANIFEST, replicas: 2 });
    expect(unknownField.json().error.message).toBe('hangar.json: replicas is an unknown field');
    expect(await t.stores.apps.listApps()).toEqual([]);
  });

  it('rejects an unknown machine type with 400', async () => {
    const res = await deploy({ bundle: await uploaded(), ...MANIFEST, machine_type: 'GPU-TPU' });
    expect(res.statusCode).toBe(400);
    expect(res.json().error).toMatchObject({ type: 'validation_error', code: 'MACHINE_TYPE_UNKNOWN' });
    expect(res.json().error.message).toContain('GPU-H100');
  });

  it('rejects a missing or malformed bundle or a bad body field naming it', async () => {
    const missing = await deploy({ message: 'no bundle' });
    expect(missing.statusCode).toBe(400);
    expect(missing.json().error.message).toContain('bundle');
    const malformed = await deploy({ bundle: 'sha256:../../etc' });
    expect(malformed.statusCode).toBe(400);
    const badAnnotations = await deploy({
      bundle: await uploaded(),
      annotations: { team: { nested: true } },
    });
    expect(badAnnotations.statusCode).toBe(400);
    expect(badAnnotations.json().error.message).toContain('annotations');
  });
});

describe('image apps on a server whose runners cannot run images', () => {
  it("refuses the deploy with 400 RUNNER_IMAGE_UNSUPPORTED in fal's envelope and records nothing", async () => {
    const digest = await uploaded();
    const res = await deploy({
      bundle: digest,
      name: 'img',
      image: 'registry.example.com/acme/echo:1',
      machine_type: 'CPU',
    });
    expect(res.statusCode).toBe(400);
    expect(res.json().error).toMatchObject({ type: 'validation_error', code: 'RUNNER_IMAGE_UNSUPPORTED' });
    expect(res.json().error.message).toMatch(/image app.*runners\.container_cli/);
    expect(await t.stores.apps.getApp('alice', 'img')).toBeNull();
    // The same manifest with a malformed reference is a manifest error first.
    const bad = await deploy({
      bundle: digest,
      name: 'img',
      image: 'acme/echo:1 --privileged',
      machine_type: 'CPU',
    });
    expect(bad.json().error.code).toBe('MANIFEST_INVALID');
  });
});
