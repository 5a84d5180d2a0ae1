import type { App, AppSettings } from '@hangar/core';
import { describe, expect, it } from 'vitest';
import { revisionFixture } from '../store/fixtures.js';
import { createMemoryStores } from '../store/memory/index.js';
import { startAppSync } from './app-sync.js';

const quiet = { info() {}, warn() {}, error() {} };

describe('app sync across nodes', () => {
  it('starts, moves, rescales, rolls out and stops apps changed through another node', async () => {
    const stores = createMemoryStores();
    const calls: string[] = [];
    const sync = startAppSync({
      apps: stores.apps,
      restore: async (app: App) => void calls.push(`restore ${app.name}@${app.currentRevision}`),
      follow: async (app: App, s: AppSettings) =>
        void calls.push(`follow ${app.name} ${JSON.stringify(s.scaling)} ${s.rollout?.percent ?? '-'}`),
      removeLocal: async (owner, name) => void calls.push(`remove ${owner}/${name}`),
      serves: (app) => app.owner === 'acme',
      logger: quiet,
      intervalMs: 60_000,
    });
    try {
      await stores.apps.putRevision(revisionFixture('rev1', 'acme', 'echo', 100));
      await stores.apps.putRevision(revisionFixture('other', 'bob', 'echo', 100));
      await sync.run();
      expect(calls).toEqual([]); // the first pass records what start-up ran

      await stores.apps.putSettings('acme', 'echo', { scaling: { min_concurrency: 2 }, rollout: null });
      await sync.run();
      await sync.run();
      expect(calls.splice(0)).toEqual(['follow echo {"min_concurrency":2} -']);

      await stores.apps.putRevision(revisionFixture('rev2', 'acme', 'echo', 200));
      await stores.apps.setCurrentRevision('acme', 'echo', 'rev1', 300);
      const rollout = { revisionId: 'rev2', percent: 10, startedAt: 300 };
      await stores.apps.putSettings('acme', 'echo', { scaling: { min_concurrency: 2 }, rollout });
      await sync.run();
      expect(calls.splice(0)).toEqual(['follow echo {"min_concurrency":2} 10']);

      await stores.apps.putRevision(revisionFixture('rev3', 'acme', 'echo', 400));
      await stores.apps.putRevision(revisionFixture('rev4', 'acme', 'beta', 400));
      await sync.run();
      expect(calls.splice(0).sort()).toEqual(['restore beta@rev4', 'restore echo@rev3']);

      await stores.apps.deleteApp('acme', 'beta');
      await sync.run();
      expect(calls.splice(0)).toEqual(['remove acme/beta']);
    } finally {
      await sync.close();
      await stores.close();
    }
  });
});
