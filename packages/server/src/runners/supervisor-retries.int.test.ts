import { afterEach, describe, expect, it } from 'vitest';
import { json, manifest, request, revision, testBed, until } from './supervisor.test-helper.js';

const cleanups: Array<() => Promise<void> | void> = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});
const setup = (over: Parameters<typeof testBed>[1] = {}) => testBed(cleanups, over);

/** A failing answer that asks for a retry and keeps its runner (fast: no new runner per attempt). */
const transient = (times: number) => ({
  fail_times: times,
  fail_status: 500,
  fail_headers: { 'x-fal-needs-retry': '1' },
});

async function deployed(name: string, over: Parameters<typeof manifest>[0] = {}) {
  const h = setup();
  const { app, rev } = revision(h.dir, manifest({ name, ...over }));
  await h.sup.deploy(app, rev);
  return h;
}

describe('supervisor: fal retries', () => {
  it('completes on attempt 10 after 9 failures, counting each retry and logging it', async () => {
    const h = await deployed('nine');
    const req = request('nine', transient(9));
    const res = await h.sup.dispatch(req);
    expect(res.statusCode).toBe(200);
    expect(res.attempts).toBe(10);
    expect(json(res.body).attempt).toBe(10);
    expect(h.sup.stats()[0]!.retries).toEqual({ server_error: 9, timeout: 0, connection_error: 0 });
    const notes = await until(() => {
      const lines = h.stores
        .snapshot()
        .logs.filter((l) => l.labels.fal_request_id === req.requestId && l.labels.source === 'platform');
      return lines.length === 9 ? lines : null;
    });
    expect(notes[0]!.message).toBe('Attempt 1 failed (server_error: answered 500); retrying the request');
    expect(notes.every((l) => l.level === 'warn')).toBe(true);
  });

  it('stops at the attempt ceiling and returns the last answer', async () => {
    const h = await deployed('ceiling');
    const res = await h.sup.dispatch(request('ceiling', transient(12)));
    expect(res.statusCode).toBe(500);
    expect(res.attempts).toBe(10);
    // The control header never reaches the caller.
    expect(res.headers['x-fal-needs-retry']).toBeUndefined();
  });

  it('follows per-condition budgets from X-Fal-Retry-Config, each condition on its own', async () => {
    const h = await deployed('budget', { max_concurrency: 2 });
    const res = await h.sup.dispatch(request('budget', transient(5), { retryBudgets: { server_error: 2 } }));
    expect(res.statusCode).toBe(500);
    expect(res.attempts).toBe(3);
    const slow = await h.sup.dispatch(
      request('budget', { slow_times: 5, slow_ms: 3000 }, { timeoutMs: 300, retryBudgets: { timeout: 1 } }),
    );
    expect(slow.statusCode).toBe(504);
    expect(slow.errorClass).toBe('timeout');
    expect(slow.attempts).toBe(2);
    expect(h.sup.stats()[0]!.retries).toMatchObject({ server_error: 2, timeout: 1 });
  });

  it('uses the app retry_config, and the caller budget over it', async () => {
    const h = await deployed('appcfg', { retry_config: { server_error: { retries: 1 } } });
    expect((await h.sup.dispatch(request('appcfg', transient(5)))).attempts).toBe(2);
    const own = await h.sup.dispatch(request('appcfg', transient(5), { retryBudgets: { server_error: 3 } }));
    expect(own.attempts).toBe(4);
  });

  it('X-Fal-Needs-Retry: 0 prevents the retry of a 503; on a 4xx a 1 is ignored', async () => {
    const h = await deployed('needs0');
    const res = await h.sup.dispatch(
      request('needs0', { fail_times: 1, fail_status: 503, fail_headers: { 'x-fal-needs-retry': '0' } }),
    );
    expect(res.statusCode).toBe(503);
    expect(res.attempts).toBe(1);
    const h2 = await deployed('needs4xx');
    const bad = await h2.sup.dispatch(
      request('needs4xx', { fail_times: 1, fail_status: 422, fail_headers: { 'x-fal-needs-retry': '1' } }),
    );
    expect(bad.statusCode).toBe(422);
    expect(bad.attempts).toBe(1);
  });

  it('skip_retry_conditions stops a 503 retry, but X-Fal-Needs-Retry: 1 still forces one', async () => {
    const h = await deployed('skip', { skip_retry_conditions: ['server_error'], max_concurrency: 2 });
    const res = await h.sup.dispatch(request('skip', { fail_times: 1, fail_status: 503 }));
    expect(res.statusCode).toBe(503);
    expect(res.attempts).toBe(1);
    const forced = await h.sup.dispatch(request('skip', transient(1)));
    expect(forced.statusCode).toBe(200);
    expect(forced.attempts).toBe(2);
  });

  it('never retries a direct call (noRetry)', async () => {
    const h = await deployed('direct');
    const res = await h.sup.dispatch(request('direct', transient(3), { noRetry: true }));
    expect(res.statusCode).toBe(500);
    expect(res.attempts).toBe(1);
  });

  it('x-fal-stop-runner: 1 drains the runner after its answer; 0 keeps a runner that answered 503', async () => {
    const h = await deployed('stop');
    const kept = await h.sup.dispatch(
      request('stop', { fail_times: 1, fail_status: 503, fail_headers: { 'x-fal-stop-runner': '0' } }),
    );
    expect(kept.statusCode).toBe(200);
    expect(kept.attempts).toBe(2);
    expect(h.stores.snapshot().events.some((e) => e.category === 'runner_draining')).toBe(false);
    const res = await h.sup.dispatch(request('stop', { headers: { 'x-fal-stop-runner': 'true' } }));
    expect(res.statusCode).toBe(200);
    expect(res.headers['x-fal-stop-runner']).toBeUndefined();
    const draining = await until(() =>
      h.stores.snapshot().events.find((e) => e.category === 'runner_draining'),
    );
    expect(draining.payload).toMatchObject({ job_id: res.runnerId });
    expect(String(draining.payload.reason)).toContain('x-fal-stop-runner');
  });

  it('runs a TCP health check after a 500 and replaces a runner whose port is gone', async () => {
    const h = await deployed('tcp');
    const ok = await h.sup.dispatch(request('tcp', { status: 500 }));
    expect(ok.statusCode).toBe(500);
    const res = await h.sup.dispatch(request('tcp', { status: 502, close_listener: true }));
    expect(res.statusCode).toBe(502);
    const draining = await until(() =>
      h.stores.snapshot().events.find((e) => e.category === 'runner_draining'),
    );
    expect(draining.payload).toMatchObject({ job_id: res.runnerId });
    expect(String(draining.payload.reason)).toBe('TCP health check failed after it answered 502');
    // Only the runner whose port closed was drained.
    expect(h.stores.snapshot().events.filter((e) => e.category === 'runner_draining').length).toBe(1);
  });
});

describe('supervisor: start deadline', () => {
  it('ends a request still queued at its deadline with 504 user, and leaves the queue at once', async () => {
    const h = await deployed('deadline');
    await until(() => h.sup.stats()[0]?.runners.idle === 1);
    const blocker = h.sup.dispatch(request('deadline', { sleep_ms: 1500 }));
    const res = await h.sup.dispatch(request('deadline', {}, { startDeadline: Date.now() + 200 }));
    expect(res.statusCode).toBe(504);
    expect(res.headers['x-fal-request-timeout-type']).toBe('user');
    expect(res.errorClass).toBe('start_timeout');
    expect(res.attempts).toBe(0);
    expect(json(res.body).error_type).toBe('request_timeout');
    expect(res.headers['x-hangar-error-code']).toBe('REQUEST_START_TIMEOUT');
    // Expired while the blocker still runs: the queue is empty before the runner frees up.
    expect(h.sup.stats()[0]!.queueSize).toBe(0);
    expect(h.sup.stats()[0]!.inFlight).toBe(1);
    expect((await blocker).statusCode).toBe(200);
  });

  it('never cuts a request that started before its deadline', async () => {
    const h = await deployed('started');
    await until(() => h.sup.stats()[0]?.runners.idle === 1);
    const res = await h.sup.dispatch(
      request('started', { sleep_ms: 800 }, { startDeadline: Date.now() + 300 }),
    );
    expect(res.statusCode).toBe(200);
    expect(res.attempts).toBe(1);
  });

  it('answers at once when the deadline passed before the request reached the pool', async () => {
    const h = await deployed('late');
    const res = await h.sup.dispatch(request('late', {}, { startDeadline: Date.now() - 1 }));
    expect(res.statusCode).toBe(504);
    expect(res.errorClass).toBe('start_timeout');
  });
});

describe('supervisor: runner hints', () => {
  it('prefers a free runner that reported the hint, and falls back to any free runner', async () => {
    const h = await deployed('hints', { min_concurrency: 2, max_concurrency: 2 });
    await until(() => h.sup.stats()[0]?.runners.idle === 2);
    const first = await h.sup.dispatch(
      request('hints', { headers: { 'x-fal-runner-hints': 'lora-a, flux' } }),
    );
    const hinted = first.runnerId!;
    for (let i = 0; i < 4; i++) {
      const res = await h.sup.dispatch(request('hints', {}, { runnerHint: 'lora-a' }));
      expect(res.runnerId).toBe(hinted);
    }
    // The hinted runner is busy: the next hinted request runs on the other one instead of waiting.
    const busy = h.sup.dispatch(request('hints', { sleep_ms: 1500 }, { runnerHint: 'flux' }));
    const order: string[] = [];
    void busy.then(() => order.push('busy'));
    const other = await h.sup.dispatch(request('hints', {}, { runnerHint: 'flux' }));
    order.push('other');
    expect(other.runnerId).not.toBe(hinted);
    expect((await busy).runnerId).toBe(hinted);
    expect(order).toEqual(['other', 'busy']);
    expect(h.sup.stats()[0]).toMatchObject({ hintHits: 5, hintMisses: 1 });
  });
});
