import { afterEach, describe, expect, it } from 'vitest';
import { manifest, offsetClock, request, revision, testBed, until } from './supervisor.test-helper.js';

const cleanups: Array<() => Promise<void> | void> = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

describe('runner states and the time spent in each', () => {
  it('records every lifecycle state, its time, in the registry, the events and the histogram', async () => {
    const time = offsetClock();
    const h = testBed(cleanups, { clock: time.clock });
    const { app, rev } = revision(h.dir, manifest({ name: 'states', min_concurrency: 1 }));
    await h.sup.deploy(app, rev);
    await until(() => h.sup.stats()[0]?.runners.idle === 1);
    const [runner] = h.sup.runners('alice', 'states');
    time.advance(2_000);
    const res = await h.sup.dispatch(request('states'));
    expect(res.statusCode).toBe(200);
    time.advance(3_000);
    expect(h.sup.stopRunner('alice', 'states', runner!.runnerId, 'stop', 'test')).toBe(true);
    const row = await until(() =>
      h.stores.snapshot().runners.find((r) => r.runnerId === runner!.runnerId && r.state === 'terminated'),
    );

    // An idle runner asked to stop drains with nothing to finish, so it is terminating at once.
    expect(row.times.timeline.map((t) => t.state)).toEqual([
      'pending',
      'setup',
      'idle',
      'draining',
      'terminating',
      'terminated',
    ]);
    // Idle before the request and after it: the 2 s and 3 s the clock was moved on, at least.
    expect(row.times.seconds.idle).toBeGreaterThanOrEqual(5);
    expect(row.times.seconds.running).toBeGreaterThan(0);
    expect(row.times.seconds.running).toBeLessThan(row.times.seconds.idle!);
    expect(Object.keys(row.times.seconds).sort()).toEqual([
      'draining',
      'idle',
      'pending',
      'running',
      'setup',
      'terminating',
    ]);

    const mine = h.stores.snapshot().events.filter((e) => e.payload.job_id === runner!.runnerId);
    expect(mine.map((e) => [e.category, e.payload.state, e.payload.previous_state])).toEqual([
      ['runner_pending', 'PENDING', undefined],
      ['runner_setup', 'SETUP', 'PENDING'],
      ['runner_started', 'IDLE', 'SETUP'],
      ['runner_draining', 'DRAINING', 'IDLE'],
      ['runner_stopping', 'TERMINATING', 'DRAINING'],
      ['runner_finished', 'TERMINATED', 'TERMINATING'],
    ]);
    const draining = mine.find((e) => e.category === 'runner_draining')!;
    expect(draining.payload.previous_state_seconds).toBeGreaterThanOrEqual(3);

    const hist = h.sup.stats()[0]!.stateSeconds!;
    // Left idle twice (for the request, for the stop), running once, setup and pending once each.
    expect(hist.idle!.count).toBe(2);
    expect(hist.running!.count).toBe(1);
    expect(hist.idle!.sum).toBeGreaterThanOrEqual(5);
    expect(hist.idle!.buckets.reduce((a, b) => a + b, 0)).toBe(2);
  });

  it('keeps a draining runner in DRAINING until its requests end, then TERMINATING', async () => {
    const h = testBed(cleanups);
    const { app, rev } = revision(h.dir, manifest({ name: 'drain', min_concurrency: 1 }));
    await h.sup.deploy(app, rev);
    await until(() => h.sup.stats()[0]?.runners.idle === 1);
    const [runner] = h.sup.runners('alice', 'drain');
    const pending = h.sup.dispatch(request('drain', { sleep_ms: 300 }));
    await until(() => h.sup.stats()[0]?.runners.running === 1);
    h.sup.stopRunner('alice', 'drain', runner!.runnerId, 'stop', 'test');
    expect(h.sup.runners('alice', 'drain').find((r) => r.runnerId === runner!.runnerId)?.state).toBe(
      'draining',
    );
    expect((await pending).statusCode).toBe(200);
    const row = await until(() =>
      h.stores.snapshot().runners.find((r) => r.runnerId === runner!.runnerId && r.state === 'terminated'),
    );
    expect(row.times.timeline.map((t) => t.state)).toEqual([
      'pending',
      'setup',
      'idle',
      'draining',
      'terminating',
      'terminated',
    ]);
    expect(row.times.seconds.draining).toBeGreaterThan(0);
  });

  it('enters DOCKER_PULL when the driver pulls an image, and SETUP once the process started', async () => {
    const time = offsetClock();
    const h = testBed(cleanups, { clock: time.clock });
    const inner = h.deps.driver;
    const pause = () => new Promise((r) => setTimeout(r, 50));
    h.deps.driver = {
      ...inner,
      start: async (spec, hooks, signal) => {
        hooks.onPhase('PENDING', 'waiting for a GPU');
        await pause();
        time.advance(4_000);
        hooks.onPhase('DOCKER_PULL', 'pulling example/app:1');
        await pause();
        time.advance(7_000);
        return inner.start(spec, hooks, signal);
      },
    };
    const { app, rev } = revision(h.dir, manifest({ name: 'image', min_concurrency: 1 }));
    await h.sup.deploy(app, rev);
    await until(() => h.sup.stats()[0]?.runners.idle === 1);
    const [runner] = h.sup.runners('alice', 'image');
    expect(runner!.times.timeline.map((t) => t.state)).toEqual(['pending', 'docker_pull', 'setup', 'idle']);
    expect(runner!.times.seconds.pending).toBeGreaterThanOrEqual(4);
    expect(runner!.times.seconds.docker_pull).toBeGreaterThanOrEqual(7);
    const mine = h.stores.snapshot().events.filter((e) => e.payload.job_id === runner!.runnerId);
    expect(mine.map((e) => [e.category, e.payload.state, e.payload.reason])).toEqual([
      ['runner_pending', 'PENDING', undefined],
      ['runner_pending', 'PENDING', 'waiting for a GPU'],
      ['runner_docker_pull', 'DOCKER_PULL', 'pulling example/app:1'],
      ['runner_setup', 'SETUP', undefined],
      ['runner_started', 'IDLE', undefined],
    ]);
    expect(h.sup.stats()[0]!.stateSeconds!.docker_pull!.count).toBe(1);
  });
});
