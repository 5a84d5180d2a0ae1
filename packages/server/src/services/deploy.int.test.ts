import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { type App, PlatformError, type Revision } from '@hangar/core';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { createDiskFileStore } from '../adapters/disk/file-store.js';
import { type BundleStore, createBundleStore } from '../bundles/bundle-store.js';
import { bytesOf, tarGz } from '../bundles/tar-writer.test-helper.js';
import { createDeployService, type DeployService } from './deploy.js';
import { openTestStores, type TestStores } from './test-stores.js';

const MANIFEST = { name: 'echo', command: ['node', 'server.js'], machine_type: 'CPU' };

let t: TestStores;
let svc: DeployService;
let bundles: BundleStore;
let appDir: string;
let rolled: { app: App; rev: Revision }[];
let failRollout: Error | null;
let n: number;

beforeEach(() => {
  t = openTestStores();
  appDir = join(t.dir, 'echo');
  mkdirSync(appDir);
  writeFileSync(join(appDir, 'hangar.json'), JSON.stringify(MANIFEST));
  rolled = [];
  failRollout = null;
  n = 0;
  bundles = createBundleStore({
    root: join(t.dir, 'bundles'),
    objects: createDiskFileStore(join(t.dir, 'storage')),
    limits: { maxBytes: 1 << 20, maxUnpackedBytes: 1 << 20, maxFiles: 100 },
    apps: t.stores.apps,
    clock: () => 1,
  });
  svc = createDeployService({
    bundles,
    apps: t.stores.apps,
    events: t.stores.events,
    keys: t.stores.keys,
    machineTypes: { CPU: {}, 'GPU-H100': {} },
    clock: () => 1_000 + n * 10,
    ids: () => `id-${++n}`,
    onRevision: async (app, rev) => {
      rolled.push({ app, rev });
      if (failRollout) throw failRollout;
    },
  });
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

describe('deploy', () => {
  it('packs a directory (operator), records a deployed revision of its bundle and rolls runners over', async () => {
    const rev = await svc.deployDir({
      owner: 'alice',
      dir: appDir,
      message: 'first',
      annotations: { team: 'ml' },
      deployedBy: 'alice',
    });
    expect(rev).toMatchObject({
      owner: 'alice',
      app: 'echo',
      status: 'deployed',
      message: 'first',
      bundle: expect.stringMatching(/^sha256:[0-9a-f]{64}$/),
    });
    expect(rev.dir).toBe(await bundles.treeDir(rev.bundle!));
    expect(rev.dir.startsWith(join(t.dir, 'bundles', 'trees'))).toBe(true);
    expect(rev.manifest.max_concurrency).toBe(2);
    expect(rolled).toHaveLength(1);
    expect(rolled[0]?.rev.status).toBe('deploying');
    expect(rolled[0]?.app).toMatchObject({ owner: 'alice', name: 'echo', currentRevision: rev.revisionId });
    expect(await t.stores.apps.listRevisions('alice', 'echo')).toEqual([rev]);
    expect(await t.stores.keys.listOwners()).toEqual(['alice']);
    expect(await bundles.get('alice', rev.bundle!)).not.toBeNull();
    const events = await t.events();
    expect(events.map((e) => e.category)).toEqual(['deployment_started', 'deployment_ended']);
    expect(events[0]?.payload).toEqual({
      new_application_id: rev.revisionId,
      old_application_id: null,
      actor: { nickname: 'alice' },
    });
  });

  it('prefers a given manifest and records config_changed when the manifest changes', async () => {
    const first = await svc.deployDir({ owner: 'alice', dir: appDir, deployedBy: 'alice' });
    const bundle = first.bundle!;
    const same = await svc.deploy({ owner: 'alice', bundle, deployedBy: 'alice' });
    expect(same.bundle).toBe(bundle);
    const changed = { ...MANIFEST, auth_mode: 'public', max_concurrency: 4 };
    const third = await svc.deploy({ owner: 'alice', bundle, manifest: changed, deployedBy: null });
    expect(third.manifest).toMatchObject({ auth_mode: 'public', max_concurrency: 4 });
    const revs = await t.stores.apps.listRevisions('alice', 'echo');
    expect(revs.map((r) => r.revisionId).sort()).toEqual(
      [first, same, third].map((r) => r.revisionId).sort(),
    );
    expect((await t.stores.apps.getApp('alice', 'echo'))?.currentRevision).toBe(third.revisionId);

    const events = await t.events();
    const changes = events.filter((e) => e.category === 'config_changed');
    expect(changes).toHaveLength(1);
    expect(changes[0]?.payload).toMatchObject({
      old_config: first.manifest,
      new_config: third.manifest,
      old_app_auth_mode: 'private',
      new_app_auth_mode: 'public',
    });
    expect(changes[0]?.payload['actor']).toBeUndefined();
    const started = events.filter((e) => e.category === 'deployment_started').at(-1);
    expect(started?.payload).toEqual({
      new_application_id: third.revisionId,
      old_application_id: same.revisionId,
    });
  });

  it('marks the revision failed and rethrows when the rollout fails', async () => {
    failRollout = new Error('runner never became healthy');
    await expect(svc.deployDir({ owner: 'alice', dir: appDir, deployedBy: 'alice' })).rejects.toThrow(
      'runner never became healthy',
    );
    const [rev] = await t.stores.apps.listRevisions('alice', 'echo');
    expect(rev?.status).toBe('failed');
    const failed = (await t.events()).find((e) => e.category === 'deployment_failed');
    expect(failed?.payload).toMatchObject({
      new_application_id: rev?.revisionId,
      reason: 'runner never became healthy',
      actor: { nickname: 'alice' },
    });
  });

  it('deploys only a bundle the owner uploaded itself, answering the same for unknown and foreign digests', async () => {
    const { digest } = await bundles.put(
      'alice',
      bytesOf(tarGz([{ path: 'hangar.json', body: JSON.stringify(MANIFEST) }])),
    );
    const foreign = await rejection(svc.deploy({ owner: 'bob', bundle: digest, deployedBy: 'bob' }));
    const unknown = `sha256:${'1'.repeat(64)}`;
    const missing = await rejection(svc.deploy({ owner: 'bob', bundle: unknown, deployedBy: 'bob' }));
    expect([foreign.code, missing.code]).toEqual(['BUNDLE_NOT_FOUND', 'BUNDLE_NOT_FOUND']);
    expect(foreign.message.replace(digest, 'D')).toBe(missing.message.replace(unknown, 'D'));
    expect(await t.stores.apps.listApps()).toEqual([]);
    expect((await svc.deploy({ owner: 'alice', bundle: digest, deployedBy: 'alice' })).app).toBe('echo');
  });

  it('rejects a bundle without a valid hangar.json without naming any server path', async () => {
    const put = async (entries: Parameters<typeof tarGz>[0]) =>
      (await bundles.put('alice', bytesOf(tarGz(entries)))).digest;
    const none = await rejection(
      svc.deploy({ owner: 'alice', bundle: await put([{ path: 'x', body: '' }]), deployedBy: null }),
    );
    expect(none).toMatchObject({ code: 'MANIFEST_INVALID', message: 'hangar.json: not found in the bundle' });
    const broken = await rejection(
      svc.deploy({
        owner: 'alice',
        bundle: await put([{ path: 'hangar.json', body: '{ nope' }]),
        deployedBy: null,
      }),
    );
    expect(broken.message).toMatch(/^hangar.json: not valid JSON/);
    for (const err of [none, broken]) expect(err.message).not.toContain(t.dir);
  });

  it('rejects a bad manifest naming the field, and an unknown machine type, recording nothing', async () => {
    const bundle = (await bundles.put('alice', bytesOf(tarGz([{ path: 'hangar.json', body: '{}' }])))).digest;
    const bad = await rejection(
      svc.deploy({
        owner: 'alice',
        bundle,
        manifest: { ...MANIFEST, max_concurrency: 0 },
        deployedBy: null,
      }),
    );
    expect(bad.code).toBe('MANIFEST_INVALID');
    expect(bad.message).toContain('max_concurrency');
    const unknown = await rejection(
      svc.deploy({
        owner: 'alice',
        bundle,
        manifest: { ...MANIFEST, machine_type: 'GPU-A100' },
        deployedBy: null,
      }),
    );
    expect(unknown.code).toBe('MACHINE_TYPE_UNKNOWN');
    expect(unknown.message).toBe('unknown machine_type "GPU-A100"; known: CPU, GPU-H100');
    expect(await t.stores.apps.listApps()).toEqual([]);
    expect(await t.events()).toEqual([]);
    expect(rolled).toEqual([]);
  });
});
