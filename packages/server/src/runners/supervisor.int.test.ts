import type { LogLine } from '@hangar/core';
import { afterEach, describe, expect, it } from 'vitest';
import { json, manifest, offsetClock, request, revision, testBed, until } from './supervisor.test-helper.js';

const cleanups: Array<() => Promise<void> | void> = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

const setup = (over: Parameters<typeof testBed>[1] = {}) => testBed(cleanups, over);

describe('supervisor: start, dispatch, logs', () => {
  it('keeps min_concurrency warm and forwards requests with the runner contract', async () => {
    const h = setup();
    const m = manifest({ name: 'echo', env: { REV: '1' } });
    const { app, rev } = revision(h.dir, m);
    await h.sup.deploy(app, rev);
    await until(() => h.sup.stats('alice')[0]?.runners.idle === 1);
    const events = h.stores.snapshot().events.map((e) => e.category);
    expect(events).toEqual(['runner_pending', 'runner_setup', 'runner_started']);

    const starts: unknown[] = [];
    const req = request('echo', { hello: 'world' }, { path: '/sub?x=1', onStart: (s) => starts.push(s) });
    const res = await h.sup.dispatch(req);
    expect(res.statusCode).toBe(200);
    expect(res.errorClass).toBeNull();
    expect(res.attempts).toBe(1);
    expect(res.coldStart).toBe(false);
    expect(res.billableUnits).toBe(2.5);
    expect(res.headers['x-app']).toBe('yes');
    expect(res.headers.connection).toBeUndefined();
    const body = json(res.body);
    expect(body.runner).toBe(res.runnerId);
    expect(body.path).toBe('/sub?x=1');
    expect(body.body).toEqual({ hello: 'world' });
    expect(body.headers['x-fal-request-id']).toBe(req.requestId);
    expect(body.headers['x-fal-endpoint']).toBe('alice/echo');
    expect(body.headers['x-custom']).toBe('v');
    expect(body.app).toBe('alice/echo');
    expect(body.rev).toBe('1');
    expect(body.dataDir).toBe(`${h.dataRoot}/alice`);
    expect(body.envKeys).toContain('PORT');
    expect(body.envKeys).not.toContain('VITEST');
    expect(starts).toEqual([
      expect.objectContaining({ runnerId: res.runnerId, attempt: 1, coldStart: false }),
    ]);
  });

  it('labels runner output with the runner and the request it serves', async () => {
    const h = setup();
    const published: LogLine[] = [];
    h.deps.logBus.subscribe((lines) => published.push(...lines));
    const { app, rev } = revision(h.dir, manifest({ name: 'logs' }));
    await h.sup.deploy(app, rev);
    const req = request('logs');
    const res = await h.sup.dispatch(req);
    const lines = await until(() => {
      const mine = h.stores.snapshot().logs.filter((l) => l.labels.fal_request_id === req.requestId);
      return mine.length >= 3 ? mine : null;
    });
    const byMsg = Object.fromEntries(lines.map((l) => [l.message, l]));
    expect(byMsg.handling).toMatchObject({
      owner: 'alice',
      app: 'logs',
      revision: rev.revisionId,
      level: 'warn',
      labels: {
        fal_job_id: res.runnerId,
        fal_request_id: req.requestId,
        fal_endpoint: 'alice/logs',
        source: 'stdout',
        step: '1',
      },
    });
    expect(byMsg['plain line']?.level).toBe('info');
    expect(byMsg['INFO:app:python style']).toMatchObject({ level: 'info', labels: { source: 'stderr' } });
    await until(() => published.some((l) => l.labels.fal_request_id === req.requestId));
    expect(published.every((l) => typeof l.id === 'number')).toBe(true);
  });

  it('multiplexes up to max_multiplexing requests on one runner', async () => {
    const h = setup();
    const { app, rev } = revision(h.dir, manifest({ name: 'mux', max_multiplexing: 4 }));
    await h.sup.deploy(app, rev);
    const results = await Promise.all(
      Array.from({ length: 4 }, () => h.sup.dispatch(request('mux', { sleep_ms: 300 }))),
    );
    expect(new Set(results.map((r) => r.runnerId)).size).toBe(1);
    expect(Math.max(...results.map((r) => json(r.body).maxInflight))).toBe(4);
  });

  it('scales up on queued work and back down to min after keep_alive', async () => {
    const time = offsetClock();
    const h = setup({ clock: time.clock });
    const m = manifest({ name: 'scale', min_concurrency: 1, max_concurrency: 3, keep_alive: 60 });
    const { app, rev } = revision(h.dir, m);
    await h.sup.deploy(app, rev);
    const results = await Promise.all(
      Array.from({ length: 6 }, () => h.sup.dispatch(request('scale', { sleep_ms: 400 }))),
    );
    expect(results.every((r) => r.statusCode === 200)).toBe(true);
    const runners = new Set(results.map((r) => r.runnerId));
    expect(runners.size).toBeGreaterThan(1);
    expect(runners.size).toBeLessThanOrEqual(3);
    expect(results.some((r) => r.coldStart && r.coldBootMs !== null)).toBe(true);
    expect(h.sup.stats()[0]!.runners.idle).toBe(runners.size);

    time.advance(61_000);
    await until(() => {
      const s = h.sup.stats()[0]!.runners;
      return s.idle === 1 && s.draining === 0 && s.terminating === 0 && s.running === 0;
    });
    const finished = h.stores.snapshot().events.filter((e) => e.category === 'runner_finished');
    expect(finished.length).toBe(runners.size - 1);
    expect(finished[0]!.payload).toMatchObject({ reason: 'keep_alive expired', machine_type: 'CPU' });
  });
});
