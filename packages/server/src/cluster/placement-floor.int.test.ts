import { afterEach, describe, expect, it } from 'vitest';
import { manifest, revision, testBed, until } from '../runners/supervisor.test-helper.js';

const cleanups: Array<() => Promise<void> | void> = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

describe("a node's supervisor following the leader's placement", () => {
  it('keeps the runners its target needs warm, within max_concurrency, and lets them go when it drops', async () => {
    const target = new Map<string, number>([['alice/placed', 5]]);
    const h = testBed(cleanups, { placementFloor: (owner, app) => target.get(`${owner}/${app}`) ?? 0 });
    const m = manifest({
      name: 'placed',
      min_concurrency: 0,
      max_concurrency: 3,
      max_multiplexing: 2,
      keep_alive: 0,
    });
    const { app, rev } = revision(h.dir, m);
    await h.sup.deploy(app, rev);
    // 5 request slots at 2 per runner: 3 runners, which is also max_concurrency.
    await until(() => h.sup.stats()[0]?.runners.idle === 3);
    target.set('alice/placed', 2);
    await until(() => h.sup.stats()[0]?.runners.idle === 1);
    target.delete('alice/placed');
    await until(() => h.sup.stats()[0]?.runners.idle === 0);
    const started = h.stores.snapshot().events.filter((e) => e.category === 'runner_pending').length;
    expect(started).toBe(3);
  });
});
