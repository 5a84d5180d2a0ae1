import type { ListRequestsParams, LogFilter, LogLine, Stores } from '@hangar/core';
import { describe, expect, it } from 'vitest';
import { logFilterFixture, requestFixture } from '../../fixtures.js';
import { useTwinWorld } from './world.test-helper.js';

// 10,000 requests and 10,000 log lines, with many ties (shared end instants and durations, seven lines per
// millisecond, timestamps out of id order), paged through to the end on memory and SQLite alike: every
// item exactly once, in the same order, with the same cursors.

const T0 = Date.UTC(2026, 1, 1);
const N = 10_000;
const WORDS = ['alpha', 'Bravo', 'gpu_7', 'ÉCLAIR'];

async function writeBigWorld(s: Stores): Promise<void> {
  for (let i = 0; i < N; i++) {
    const id = `big-${String(i).padStart(5, '0')}`;
    const sentAt = T0 + Math.floor(i / 3) * 1000;
    const endpointId = i % 4 === 0 ? 'acme/echo/r' : 'acme/echo';
    await s.requests.insert(requestFixture(id, { endpointId, sentAt, jsonInput: { i } }), Buffer.from('{}'));
    if (i % 20 === 0) continue; // in flight
    const durationMs = (i * 37) % 500;
    s.requests.complete(
      id,
      {
        status: 'COMPLETED',
        startedAt: sentAt + 5,
        endedAt: T0 + Math.floor(i / 4) * 1000 + 700,
        statusCode: [200, 200, 404, 500][i % 4]!,
        durationMs,
        runnerId: 'run-a',
        billableUnits: durationMs / 1000,
        jsonOutput: { ok: i },
      },
      null,
      T0 + 1e10,
    );
  }
  const lines: LogLine[] = [];
  for (let i = 0; i < N; i++) {
    // Seven lines per millisecond; every ninth line was stamped up to 40 s before lines appended ahead of it.
    const ts = T0 + Math.floor(i / 7) * 100 - (i % 9 === 0 ? 40_000 : 0);
    lines.push({
      ts,
      owner: i % 10 === 0 ? 'beta' : 'acme',
      app: i % 3 ? 'echo' : 'other',
      revision: 'rev1',
      level: i % 5 ? 'info' : 'error',
      message: `${WORDS[i % WORDS.length]} line ${i}`,
      labels: { fal_request_id: `big-${i % 50}`, source: i % 6 ? 'stdout' : 'gateway' },
    });
  }
  for (let b = 0; b < N; b += 1000) s.logs.append(lines.slice(b, b + 1000));
  await s.flush();
}

const filter = (over: Partial<LogFilter> = {}) => logFilterFixture(T0 - 3_600_000, T0 + 86_400_000, over);

describe('memory reads at 10,000 rows answer as SQLite', () => {
  const w = useTwinWorld(writeBigWorld);

  it.each<[string, Partial<ListRequestsParams>]>([
    ['newest first', {}],
    ['by duration', { sortBy: 'duration' }],
    ['errors with payloads', { status: 'error', payloads: true, billing: true }],
  ])('pages through every request (%s) once', async (_, over) => {
    let p: ListRequestsParams = {
      endpoints: [{ id: 'acme/echo', bare: true }],
      startMs: T0 - 1000,
      endMs: T0 + 86_400_000,
      status: null,
      requestId: null,
      sortBy: 'ended_at',
      limit: 200,
      after: null,
      payloads: false,
      billing: false,
      ...over,
    };
    const seen: string[] = [];
    for (let pages = 0; pages < 200; pages++) {
      const want = await w.sqlite.requestsPage(p);
      const got = await w.reads.requestsPage(p);
      expect(got.json).toBe(want.json);
      expect(got.next).toEqual(want.next);
      seen.push(...(JSON.parse(got.json).items as { request_id: string }[]).map((i) => i.request_id));
      if (!got.next) break;
      p = { ...p, after: got.next };
    }
    expect(new Set(seen).size).toBe(seen.length);
    expect(seen.length).toBe(over.status === 'error' ? N / 4 : N);
  });

  it.each<[string, Partial<LogFilter>, number]>([
    ['everything', {}, 9000],
    ['a search', { search: 'bravo LINE' }, 2500],
    [
      'errors of one app, not from the gateway',
      { apps: ['echo'], levels: ['error'], runSource: 'grpc-register' },
      0,
    ],
  ])('pages through the log history (%s) once, cursors inside milliseconds', async (_, over, count) => {
    let bounds: { ts: number; ns: number }[] = [];
    const seen: string[] = [];
    for (let pages = 0; pages < 400; pages++) {
      const p = { filter: filter(over), bounds, limit: 90 };
      const want = await w.sqlite.logs.historyPage(p);
      const got = await w.reads.logs.historyPage(p);
      expect(got.itemsJson).toBe(want.itemsJson);
      expect(got.next).toBe(want.next);
      seen.push(...(JSON.parse(got.itemsJson) as { message: string }[]).map((e) => e.message));
      if (!got.next) break;
      const ns = Number(/\.\d{3}(\d{6})Z$/.exec(got.next)?.[1] ?? '0');
      bounds = [{ ts: Date.parse(got.next), ns }];
    }
    expect(new Set(seen).size).toBe(seen.length);
    if (count > 0) expect(seen.length).toBe(count);
    else expect(seen.length).toBeGreaterThan(100);
  });

  it('serves the stream backfill from where a window starts, batch by batch', async () => {
    const start = T0 + 60_000;
    const from = await w.reads.logs.firstIdFrom({ owner: 'acme', start });
    expect(from).toBe(await w.sqlite.logs.firstIdFrom({ owner: 'acme', start }));
    let afterId = from;
    let lines = 0;
    for (let batch = 0; batch < 100; batch++) {
      const p = { filter: filter({ start }), afterId, limit: 500 };
      const got = await w.reads.logs.after(p);
      expect(got).toEqual(await w.sqlite.logs.after(p));
      if (got.length === 0) break;
      lines += got.length;
      afterId = got.at(-1)!.id;
    }
    expect(lines).toBeGreaterThan(4000);
  });
});
