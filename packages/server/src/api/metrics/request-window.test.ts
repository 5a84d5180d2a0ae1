import { describe, expect, it } from 'vitest';
import { requestFixture } from '../../store/fixtures.js';
import { createRequestWindow } from './request-window.js';

describe('request window', () => {
  it('counts received and completed requests over the last minute only', () => {
    let now = 1_000_000;
    const w = createRequestWindow(() => now);
    w.received({ owner: 'a', app: 'x', method: 'POST' });
    w.completed({ owner: 'a', app: 'x', method: 'POST', statusCode: 200, latencyMs: 800 });
    now += 30_000;
    w.received({ owner: 'a', app: 'x', method: 'POST' });
    w.received({ owner: 'a', app: 'x', method: 'GET' });
    w.completed({ owner: 'a', app: 'x', method: 'POST', statusCode: 500, latencyMs: 45_000 });
    w.received({ owner: 'b', app: 'x', method: 'POST' });

    const snap = w.snapshot('a');
    expect(Object.fromEntries(snap.received.get('x')!)).toEqual({ POST: 2, GET: 1 });
    expect(Object.fromEntries(snap.completed.get('x')!)).toEqual({ 'POST\u0000200': 1, 'POST\u0000500': 1 });
    const lat = snap.latency.get('x')!;
    expect(lat.reduce((a, b) => a + b, 0)).toBe(2);
    expect(lat[3]).toBe(1); // 0.8 s falls in the 1.0 bucket
    expect(lat[8]).toBe(1); // 45 s falls in the 60.0 bucket

    now += 30_500; // the first second is now more than a minute old
    const later = w.snapshot('a');
    expect(Object.fromEntries(later.received.get('x')!)).toEqual({ POST: 1, GET: 1 });
    expect(Object.fromEntries(later.completed.get('x')!)).toEqual({ 'POST\u0000500': 1 });
    now += 60_000;
    expect(w.snapshot('a').received.size).toBe(0);
    expect(w.snapshot('b').received.size).toBe(0);
  });

  it('reuses a slot after a minute without mixing old counts in', () => {
    let now = 5_000;
    const w = createRequestWindow(() => now);
    w.received({ owner: 'a', app: 'x', method: 'POST' });
    now += 60_000;
    w.received({ owner: 'a', app: 'x', method: 'POST' });
    expect(w.snapshot('a').received.get('x')!.get('POST')).toBe(1);
  });

  it('observes request records by status', () => {
    let now = 10_000;
    const w = createRequestWindow(() => now);
    const rec = requestFixture('r1', { owner: 'a', app: 'x', sentAt: now });
    w.observe(rec);
    now += 2_000;
    w.observe({ ...rec, status: 'COMPLETED', statusCode: 201, endedAt: now });
    w.observe({ ...rec, status: 'COMPLETED', statusCode: null, cancelled: true, endedAt: now });
    const snap = w.snapshot('a');
    expect(snap.received.get('x')!.get('POST')).toBe(1);
    expect(Object.fromEntries(snap.completed.get('x')!)).toEqual({ 'POST\u0000201': 1 });
    expect(snap.latency.get('x')![4]).toBe(1); // 2 s in the 2.5 bucket
  });
});
