import { describe, expect, it } from 'vitest';
import { JobQueue } from './job-queue.js';
import { isSurgeStart, MINUTE_MS, meterRows, minuteOf } from './metering.js';
import { runnersToStart, shouldRetire, startupBackoffMs, warmFloor } from './scaling.js';

const item = (requestId: string, sentAt: number, priority: 'normal' | 'low' = 'normal') => ({
  req: { requestId, sentAt, priority },
});

describe('JobQueue', () => {
  it('orders normal before low, each by sentAt, with positions and removal', () => {
    const q = new JobQueue<ReturnType<typeof item>>();
    const a = item('a', 10);
    const b = item('b', 5, 'low');
    const c = item('c', 20);
    const d = item('d', 15);
    for (const x of [a, b, c, d]) q.push(x);
    expect(q.position(a)).toBe(0);
    expect(q.position(d)).toBe(1);
    expect(q.position(b)).toBe(3);
    expect(q.remove(d)).toBe(true);
    expect(q.position(d)).toBe(-1);
    expect([q.shift(), q.shift(), q.shift(), q.shift()].map((x) => x?.req.requestId)).toEqual([
      'a',
      'c',
      'b',
      undefined,
    ]);
    expect(q.length).toBe(0);
  });

  it('stays FIFO across many shifts', () => {
    const q = new JobQueue<ReturnType<typeof item>>();
    const out: string[] = [];
    for (let i = 0; i < 5000; i++) {
      q.push(item(String(i), i));
      if (i % 3 === 0) out.push(q.shift()!.req.requestId);
    }
    while (q.length > 0) out.push(q.shift()!.req.requestId);
    expect(out).toEqual(Array.from({ length: 5000 }, (_, i) => String(i)));
  });
});

describe('metering', () => {
  const base = {
    runnerId: 'r',
    owner: 'o',
    app: 'a',
    environment: 'main',
    machineType: 'CPU',
    isSurge: false,
  };
  const m0 = minuteOf(Date.UTC(2026, 0, 1, 12, 0, 30));

  it('splits machine time at UTC minute boundaries', () => {
    const from = m0 + 30_000;
    const rows = meterRows(base, from, from, m0 + 2 * MINUTE_MS + 15_000);
    expect(rows.map((r) => [r.minute - m0, r.seconds])).toEqual([
      [0, 30],
      [MINUTE_MS, 60],
      [2 * MINUTE_MS, 15],
    ]);
  });

  it('rewrites only the minutes touched since the last write, with whole-minute values', () => {
    const from = m0 + 30_000;
    const rows = meterRows(base, from, m0 + 70_000, m0 + 80_000);
    expect(rows.map((r) => [r.minute - m0, r.seconds])).toEqual([[MINUTE_MS, 20]]);
    expect(meterRows(base, from, from, from)).toEqual([]);
  });

  it('flags surge once the reserved runners are live', () => {
    const type = { unitPrice: 1, gpuLabel: 'X', reservedRunners: 2, surgeMultiplier: 2 };
    expect([0, 1, 2, 3].map((n) => isSurgeStart(type, n))).toEqual([false, false, true, true]);
    expect(isSurgeStart(undefined, 10)).toBe(false);
  });
});

describe('scaling', () => {
  const view = {
    queued: 0,
    live: 0,
    freeSlots: 0,
    minConcurrency: 0,
    maxConcurrency: 5,
    maxMultiplexing: 2,
    cautious: false,
  };

  it('keeps min warm and covers the queue beyond free slots, up to max', () => {
    expect(runnersToStart({ ...view, minConcurrency: 2 })).toBe(2);
    expect(runnersToStart({ ...view, queued: 5, live: 1, freeSlots: 2 })).toBe(2);
    expect(runnersToStart({ ...view, queued: 100, live: 3 })).toBe(2);
    expect(runnersToStart({ ...view, queued: 3, live: 2, freeSlots: 4 })).toBe(0);
    expect(runnersToStart({ ...view, queued: 100, cautious: true })).toBe(1);
    // scaling_delay not yet over: the queue starts nothing, the warm floor still does.
    expect(runnersToStart({ ...view, queued: 5, queueScaling: false })).toBe(0);
    expect(runnersToStart({ ...view, queued: 5, queueScaling: false, minConcurrency: 1 })).toBe(1);
    // concurrency_buffer: runners above those the requests in flight need.
    expect(runnersToStart({ ...view, concurrencyBuffer: 2 })).toBe(2);
    expect(runnersToStart({ ...view, concurrencyBuffer: 2, live: 2, inFlight: 4, freeSlots: 0 })).toBe(2);
  });

  it('backs off exponentially and retires idle runners after keep_alive above min', () => {
    expect([0, 1, 2, 3, 20].map((f) => startupBackoffMs(f, 100, 1000))).toEqual([0, 100, 200, 400, 1000]);
    expect(shouldRetire(0, 60_000, 60, 2, 1)).toBe(true);
    expect(shouldRetire(0, 59_999, 60, 2, 1)).toBe(false);
    expect(shouldRetire(0, 60_000, 60, 1, 1)).toBe(false);
  });

  it('keeps whichever is higher: min_concurrency or the runners in use plus concurrency_buffer', () => {
    expect(warmFloor(1, 0, 10, 1)).toBe(1);
    expect(warmFloor(1, 2, 0, 1)).toBe(2);
    expect(warmFloor(5, 2, 1, 1)).toBe(5);
    expect(warmFloor(0, 1, 3, 2)).toBe(3);
  });
});
