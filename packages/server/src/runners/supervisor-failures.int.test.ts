import { afterEach, describe, expect, it } from 'vitest';
import { json, manifest, request, revision, testBed, until } from './supervisor.test-helper.js';

const cleanups: Array<() => Promise<void> | void> = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});
const setup = (over: Parameters<typeof testBed>[1] = {}) => testBed(cleanups, over);

describe('supervisor: failures and retries', () => {
  it('kills a runner that misses startup_timeout, records it, and fails waiting requests after their deadline', async () => {
    const h = setup();
    const m = manifest({
      name: 'stuck',
      startup_timeout: 0.3,
      min_concurrency: 0,
      env: { NEVER_HEALTHY: '1' },
    });
    const { app, rev } = revision(h.dir, m);
    await h.sup.deploy(app, rev);
    const res = await h.sup.dispatch(request('stuck', {}, { timeoutMs: 800 }));
    expect(res.statusCode).toBe(503);
    expect(res.errorClass).toBe('startup');
    expect(res.runnerId).toBeNull();
    expect(json(res.body)).toEqual({
      detail: 'No runner could be started for this app',
      error_type: 'runner_scheduling_failure',
    });
    expect(res.headers['x-hangar-error-code']).toBe('RUNNER_STARTUP_FAILED');
    const failures = h.stores.snapshot().events.filter((e) => e.category === 'runner_startup_failure');
    expect(failures.length).toBeGreaterThanOrEqual(1);
    expect(failures[0]!.payload).toMatchObject({
      machine_type: 'CPU',
      state: 'TERMINATED',
      previous_state: 'TERMINATING',
    });
    expect(String(failures[0]!.payload.reason)).toContain('startup_timeout');
  });

  it('retries a request whose runner crashed mid-request on a new runner', async () => {
    const h = setup();
    const { app, rev } = revision(h.dir, manifest({ name: 'crash', max_concurrency: 2 }));
    await h.sup.deploy(app, rev);
    await until(() => h.sup.stats()[0]?.runners.idle === 1);
    const starts: string[] = [];
    const res = await h.sup.dispatch(
      request('crash', { crash_once: true }, { onStart: (s) => starts.push(s.runnerId) }),
    );
    expect(res.statusCode).toBe(200);
    expect(res.attempts).toBe(2);
    expect(starts.length).toBe(2);
    expect(starts[1]).not.toBe(starts[0]);
    expect(res.runnerId).toBe(starts[1]);
    const failed = await until(() => h.stores.snapshot().events.find((e) => e.category === 'runner_failed'));
    expect(failed.payload).toMatchObject({ job_id: starts[0], reason: 'exited with code 3' });
    // The crashed runner is replaced to keep min_concurrency warm.
    await until(() => h.sup.stats()[0]?.runners.idle === 1);
  });

  it('does not retry when noRetry is set', async () => {
    const h = setup();
    const { app, rev } = revision(h.dir, manifest({ name: 'noretry' }));
    await h.sup.deploy(app, rev);
    const res = await h.sup.dispatch(request('noretry', { crash_once: true }, { noRetry: true }));
    expect(res.statusCode).toBe(503);
    expect(res.errorClass).toBe('connection');
    expect(res.attempts).toBe(1);
    expect(json(res.body)).toMatchObject({ error_type: 'runner_disconnected' });
    expect(res.headers).toMatchObject({
      'x-fal-error-type': 'runner_disconnected',
      'x-hangar-error-code': 'RUNNER_CONNECTION_FAILED',
    });
  });

  it('retries a 503 answer on another runner and recycles the runner that gave it', async () => {
    const h = setup();
    const { app, rev } = revision(h.dir, manifest({ name: 'busy', max_concurrency: 2 }));
    await h.sup.deploy(app, rev);
    const res = await h.sup.dispatch(request('busy', { fail_once_503: true }));
    expect(res.statusCode).toBe(200);
    expect(res.attempts).toBe(2);
    const draining = await until(() =>
      h.stores.snapshot().events.find((e) => e.category === 'runner_draining'),
    );
    expect(draining.payload.reason).toBe('answered 503');
    expect(draining.payload.job_id).not.toBe(res.runnerId);
  });

  it('returns other 5xx answers as they are, without retrying', async () => {
    const h = setup();
    const { app, rev } = revision(h.dir, manifest({ name: 'err' }));
    await h.sup.deploy(app, rev);
    const res = await h.sup.dispatch(request('err', { status: 500 }));
    expect(res.statusCode).toBe(500);
    expect(res.errorClass).toBe('runtime');
    expect(res.attempts).toBe(1);
    expect(json(res.body).body).toEqual({ status: 500 });
  });

  it('answers 504 when an attempt exceeds the request timeout and the timeout budget is spent', async () => {
    const h = setup();
    const { app, rev } = revision(h.dir, manifest({ name: 'slow', skip_retry_conditions: ['timeout'] }));
    await h.sup.deploy(app, rev);
    const res = await h.sup.dispatch(request('slow', { sleep_ms: 3000 }, { timeoutMs: 300 }));
    expect(res.statusCode).toBe(504);
    expect(res.errorClass).toBe('timeout');
    expect(res.attempts).toBe(1);
    expect(res.runnerId).not.toBeNull();
    expect(json(res.body)).toMatchObject({ error_type: 'request_timeout' });
    expect(res.headers['x-hangar-error-code']).toBe('RUNNER_TIMEOUT');
  });
});
