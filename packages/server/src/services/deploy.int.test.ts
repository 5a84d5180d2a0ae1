import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { type App, PlatformError, type Revision } from '@hangar/core';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { createDeployService, type DeployService } from './deploy.js';
import { openTestStores, type TestStores } from './test-stores.js';

const MANIFEST = { name: 'echo', command: ['node', 'server.js'], machine_type: 'CPU' };

let t: TestStores;
let svc: DeployService;
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
  svc = createDeployService({
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
  it('reads hangar.json, records a deployed revision and rolls runners over to it', async () => {
    const rev = await svc.deploy({
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
      dir: appDir,
    });
    expect(rev.manifest.max_concurrency).toBe(2);
    expect(rolled).toHaveLength(1);
    expect(rolled[0]?.rev.status).toBe('deploying');
    expect(rolled[0]?.app).toMatchObject({ owner: 'alice', name: 'echo', currentRevision: rev.revisionId });
    expect(await t.stores.apps.listRevisions('alice', 'echo')).toEqual([rev]);
    expect(await t.stores.keys.listOwners()).toEqual(['alice']);
    const events = await t.events();
    expect(events.map((e) => e.category)).toEqual(['deployment_started', 'deployment_ended']);
    expect(events[0]?.payload).toEqual({
      new_application_id: rev.revisionId,
      old_application_id: null,
      actor: { nickname: 'alice' },
    });
  });

  it('prefers a given manifest and records config_changed when the manifest changes', async () => {
    const first = await svc.deploy({ owner: 'alice', dir: appDir, deployedBy: 'alice' });
    const same = await svc.deploy({ owner: 'alice', dir: appDir, deployedBy: 'alice' });
    const changed = { ...MANIFEST, auth_mode: 'public', max_concurrency: 4 };
    const third = await svc.deploy({ owner: 'alice', dir: appDir, manifest: changed, deployedBy: null });
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
    await expect(svc.deploy({ owner: 'alice', dir: appDir, deployedBy: 'alice' })).rejects.toThrow(
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

  it('rejects a missing, relative or non-directory path', async () => {
    for (const dir of ['echo', join(t.dir, 'missing'), join(appDir, 'hangar.json')]) {
      const err = await rejection(svc.deploy({ owner: 'alice', dir, deployedBy: null }));
      expect(err.code).toBe('DEPLOY_DIR_INVALID');
      expect(err.type).toBe('validation_error');
    }
  });

  it('rejects a directory without a valid hangar.json', async () => {
    const empty = join(t.dir, 'empty');
    mkdirSync(empty);
    expect((await rejection(svc.deploy({ owner: 'alice', dir: empty, deployedBy: null }))).message).toMatch(
      /^hangar.json: not found/,
    );
    writeFileSync(join(empty, 'hangar.json'), '{ nope');
    expect((await rejection(svc.deploy({ owner: 'alice', dir: empty, deployedBy: null }))).message).toMatch(
      /^hangar.json: not valid JSON/,
    );
  });

  it('rejects a bad manifest naming the field, and an unknown machine type, recording nothing', async () => {
    const bad = await rejection(
      svc.deploy({
        owner: 'alice',
        dir: appDir,
        manifest: { ...MANIFEST, max_concurrency: 0 },
        deployedBy: null,
      }),
    );
    expect(bad.code).toBe('MANIFEST_INVALID');
    expect(bad.message).toContain('max_concurrency');
    const unknown = await rejection(
      svc.deploy({
        owner: 'alice',
        dir: appDir,
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
