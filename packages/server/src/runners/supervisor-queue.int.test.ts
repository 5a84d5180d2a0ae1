import { afterEach, describe, expect, it } from 'vitest';
import { json, manifest, request, revision, testBed, until } from './supervisor.test-helper.js';

const cleanups: Array<() => Promise<void> | void> = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});
const setup = (over: Parameters<typeof testBed>[1] = {}) => testBed(cleanups, over);

/** A deployed single-slot app with one ready runner. */
async function singleSlot(name: string, over: Parameters<typeof testBed>[1] = {}) {
  const h = setup(over);
  const { app, rev } = revision(h.dir, manifest({ name }));
  await h.sup.deploy(app, rev);
  await until(() => h.sup.stats()[0]?.runners.idle === 1);
  return { h, app, rev };
}

describe('supervisor: queue', () => {
  it('runs normal priority before low, each oldest first, and reports queue positions', async () => {
    const { h } = await singleSlot('prio');
    const order: string[] = [];
    const t = Date.now();
    const blocker = h.sup.dispatch(request('prio', { sleep_ms: 300 }));
    const low = request('prio', {}, { priority: 'low', sentAt: t + 1, onStart: () => order.push('low') });
    const b = request('prio', {}, { sentAt: t + 3, onStart: () => order.push('b') });
    const a = request('prio', {}, { sentAt: t + 2, onStart: () => order.push('a') });
    const all = [low, b, a].map((r) => h.sup.dispatch(r));
    expect(h.sup.queuePosition(a.requestId)).toBe(0);
    expect(h.sup.queuePosition(b.requestId)).toBe(1);
    expect(h.sup.queuePosition(low.requestId)).toBe(2);
    expect(h.sup.stats()[0]!.queueSize).toBe(3);
    await Promise.all([blocker, ...all]);
    expect(order).toEqual(['a', 'b', 'low']);
    expect(h.sup.queuePosition(a.requestId)).toBeNull();
  });

  it('cancels a queued request and flushes the rest of the queue', async () => {
    const { h } = await singleSlot('cancel');
    const blocker = h.sup.dispatch(request('cancel', { sleep_ms: 300 }));
    const [x, y, z] = [request('cancel'), request('cancel'), request('cancel')];
    const [px, py, pz] = [x, y, z].map((r) => h.sup.dispatch(r));
    expect(h.sup.cancelQueued(x.requestId)).toBe(true);
    expect(h.sup.cancelQueued(x.requestId)).toBe(false);
    const rx = await px!;
    expect(rx).toMatchObject({ cancelled: true, statusCode: 499, runnerId: null, attempts: 0 });
    expect(json(rx.body)).toEqual({ detail: 'Request was cancelled', error_type: 'client_cancelled' });
    expect((await h.sup.flushQueue('alice', 'cancel')).sort()).toEqual([y.requestId, z.requestId].sort());
    expect((await py!).cancelled).toBe(true);
    expect((await pz!).cancelled).toBe(true);
    expect((await blocker).statusCode).toBe(200);
    expect(h.sup.cancelQueued('unknown')).toBe(false);
  });

  it('signals a running request at <route>/cancel', async () => {
    const { h } = await singleSlot('stop');
    const req = request('stop', { sleep_ms: 5000 }, { path: '/work' });
    const pending = h.sup.dispatch(req);
    // Cancel once the app has the request (its first log line), not merely once it was sent.
    await until(() => h.stores.snapshot().logs.some((l) => l.labels.fal_request_id === req.requestId));
    expect(await h.sup.cancelRunning(req.requestId)).toBe(true);
    const res = await pending;
    expect(json(res.body).cancelled).toBe(true);
    expect(await h.sup.cancelRunning(req.requestId)).toBe(false);
    await until(() => h.stores.snapshot().logs.some((l) => l.message === `cancel ${req.requestId}`));
  });
});

describe('supervisor: lifecycle', () => {
  it('rolls over to a new revision without failing in-flight requests', async () => {
    const { h, app } = await singleSlot('roll');
    const first = h.sup.stats()[0]!;
    expect(first.runners.idle).toBe(1);
    const slow = h.sup.dispatch(request('roll', { sleep_ms: 500 }));
    await until(() => h.sup.stats()[0]!.inFlight === 1);
    const next = revision(h.dir, manifest({ name: 'roll', env: { REV: '2' } }));
    await h.sup.deploy(app, next.rev);
    const old = await slow;
    expect(old.statusCode).toBe(200);
    expect(json(old.body).rev).toBeNull();
    const fresh = await h.sup.dispatch(request('roll'));
    expect(json(fresh.body).rev).toBe('2');
    expect(fresh.runnerId).not.toBe(old.runnerId);
    await until(() => {
      const cats = h.stores.snapshot().events.filter((e) => e.payload.job_id === old.runnerId);
      return cats.some((e) => e.category === 'runner_finished');
    });
    const oldEvents = h.stores.snapshot().events.filter((e) => e.payload.job_id === old.runnerId);
    expect(oldEvents.map((e) => e.category)).toEqual([
      'runner_pending',
      'runner_setup',
      'runner_started',
      'runner_draining',
      'runner_stopping',
      'runner_finished',
    ]);
    expect(h.sup.stats()[0]!.runners).toMatchObject({ idle: 1, draining: 0 });
  });

  it('removes an app: queued requests get 404 and runners stop', async () => {
    const { h } = await singleSlot('gone');
    const blocker = h.sup.dispatch(request('gone', { sleep_ms: 200 }));
    const queued = h.sup.dispatch(request('gone'));
    await h.sup.remove('alice', 'gone');
    expect((await blocker).statusCode).toBe(200);
    expect((await queued).statusCode).toBe(404);
    expect(h.sup.stats()).toEqual([]);
    expect((await h.sup.dispatch(request('gone'))).statusCode).toBe(404);
  });

  it('closes: in-flight work finishes, queued work is rejected for the next process', async () => {
    const { h } = await singleSlot('close');
    const inflight = h.sup.dispatch(request('close', { sleep_ms: 300 }));
    const queued = h.sup.dispatch(request('close')).catch((err: unknown) => err);
    await h.sup.close(5000);
    expect((await inflight).statusCode).toBe(200);
    expect(await queued).toMatchObject({ code: 'SERVER_SHUTTING_DOWN' });
    await expect(h.sup.dispatch(request('close'))).rejects.toMatchObject({ code: 'SERVER_SHUTTING_DOWN' });
    const snap = h.stores.snapshot();
    expect(snap.runners.every((r) => r.state === 'terminated' && r.endedAt !== null)).toBe(true);
    expect(snap.meter.length).toBeGreaterThan(0);
    expect(snap.samples.length).toBeGreaterThan(0);
  });

  it('closes: work still running at the deadline is killed and rejected for the next process', async () => {
    const { h } = await singleSlot('deadline');
    const req = request('deadline', { sleep_ms: 10_000 });
    const running = h.sup.dispatch(req).catch((err: unknown) => err);
    await until(() => h.stores.snapshot().logs.some((l) => l.labels.fal_request_id === req.requestId));
    await h.sup.close(200);
    expect(await running).toMatchObject({ code: 'SERVER_SHUTTING_DOWN' });
    const live = h.stores.snapshot().runners.filter((r) => r.endedAt === null);
    expect(live).toEqual([]);
  });
});
