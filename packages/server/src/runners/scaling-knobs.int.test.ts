import type { DispatchResult } from '@hangar/core';
import { afterEach, describe, expect, it } from 'vitest';
import type { Harness } from './supervisor.test-helper.js';
import { manifest, offsetClock, request, revision, testBed, until } from './supervisor.test-helper.js';

const cleanups: Array<() => Promise<void> | void> = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

const started = (h: Harness, app: string) =>
  h.stores.snapshot().events.filter((e) => e.app === app && e.category === 'runner_pending').length;

/** Lets the housekeeping tick (every 20 ms in the harness) run a good many times. */
const ticks = () => new Promise((r) => setTimeout(r, 400));

describe('scaling knobs', () => {
  it('concurrency_buffer keeps runners warm above the requests in flight', async () => {
    const h = testBed(cleanups);
    const m = manifest({ name: 'buf', min_concurrency: 0, max_concurrency: 5, concurrency_buffer: 2 });
    const { app, rev } = revision(h.dir, m);
    await h.sup.deploy(app, rev);
    // No traffic: the buffer alone keeps two runners.
    await until(() => h.sup.stats()[0]?.runners.idle === 2);
    const busy = h.sup.dispatch(request('buf', { sleep_ms: 600 }));
    // One busy runner: one more starts so that two stay free.
    await until(() => h.sup.stats()[0]!.runners.running === 1 && h.sup.stats()[0]!.runners.idle === 2);
    expect(started(h, 'buf')).toBe(3);
    expect((await busy).statusCode).toBe(200);
  });

  it('without concurrency_buffer, a min_concurrency 0 app keeps no runner', async () => {
    const h = testBed(cleanups);
    const { app, rev } = revision(h.dir, manifest({ name: 'nobuf', min_concurrency: 0, max_concurrency: 5 }));
    await h.sup.deploy(app, rev);
    await ticks();
    expect(started(h, 'nobuf')).toBe(0);
  });

  it('scaling_delay starts runners for a queue only once it stayed above capacity that long', async () => {
    const time = offsetClock();
    const h = testBed(cleanups, { clock: time.clock });
    const m = manifest({ name: 'delay', min_concurrency: 0, max_concurrency: 3, scaling_delay: 30 });
    const { app, rev } = revision(h.dir, m);
    await h.sup.deploy(app, rev);
    const pending: Promise<DispatchResult>[] = [h.sup.dispatch(request('delay'))];
    await ticks();
    expect(started(h, 'delay')).toBe(0);
    expect(h.sup.stats()[0]!.queueSize).toBe(1);
    time.advance(30_000);
    const [res] = await Promise.all(pending);
    expect(res!.statusCode).toBe(200);
    expect(started(h, 'delay')).toBe(1);
  });

  it('startup_timeout counts SETUP only: a runner that waited in PENDING longer is not killed', async () => {
    const h = testBed(cleanups);
    const inner = h.deps.driver;
    // A driver whose runners wait for a machine (PENDING) for 1.5 s before their process starts.
    h.deps.driver = {
      ...inner,
      start: async (spec, hooks) => {
        await new Promise((r) => setTimeout(r, 1_500));
        return inner.start(spec, hooks);
      },
    };
    const slowNode = manifest({ name: 'slow-node', min_concurrency: 1, startup_timeout: 0.8 });
    const a = revision(h.dir, slowNode);
    await h.sup.deploy(a.app, a.rev);
    await until(() => h.sup.stats().find((s) => s.app === 'slow-node')?.runners.idle === 1);
    const failed = (app: string) =>
      h.stores.snapshot().events.filter((e) => e.app === app && e.category === 'runner_startup_failure');
    expect(failed('slow-node')).toEqual([]);

    // The same limit with a slow setup (the app opens its port after 1.5 s): killed, and replaced.
    const slowSetup = manifest({
      name: 'slow-setup',
      min_concurrency: 1,
      startup_timeout: 0.8,
      env: { SETUP_MS: '1500' },
    });
    const b = revision(h.dir, slowSetup);
    await h.sup.deploy(b.app, b.rev);
    const first = await until(() => failed('slow-setup')[0]);
    expect(String(first.payload.reason)).toContain('startup_timeout (0.8s)');
    expect(first.payload.previous_state).toBe('TERMINATING');
  });
});
