import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { PlatformError } from './errors.js';
import {
  autoTimeframe,
  bucketStart,
  DAY_MS,
  findBucket,
  formatInZone,
  HOUR_MS,
  listBuckets,
  nextBucketStart,
  parseInstant,
  TIMEFRAMES,
  type TimeWindow,
  zoneOffsetMs,
} from './time.js';

const ZONES = [
  'UTC',
  'America/New_York',
  'Europe/London',
  'Asia/Kolkata',
  'Asia/Kathmandu',
  'Australia/Lord_Howe',
  'America/St_Johns',
  'Pacific/Chatham',
  'America/Sao_Paulo',
  'Asia/Beirut',
  'Africa/Casablanca',
];

const labels = (win: TimeWindow) => listBuckets(win, 10_000).map((b) => b.label);

describe('parseInstant', () => {
  it('parses RFC 3339 with offsets and fractions', () => {
    expect(parseInstant('2025-01-01T00:00:00Z', 'start')).toBe(Date.UTC(2025, 0, 1));
    expect(parseInstant('2025-01-01T05:30:00+05:30', 'start')).toBe(Date.UTC(2025, 0, 1));
    expect(parseInstant('2025-01-01T00:00:00.250-01:00', 'start')).toBe(Date.UTC(2025, 0, 1, 1, 0, 0, 250));
  });

  it('reads a bare date as midnight in the requested zone', () => {
    expect(parseInstant('2025-01-15', 'start')).toBe(Date.UTC(2025, 0, 15));
    expect(parseInstant('2025-01-15', 'start', 'America/New_York')).toBe(Date.UTC(2025, 0, 15, 5));
    expect(parseInstant('2025-01-15', 'start', 'Asia/Kathmandu')).toBe(Date.UTC(2025, 0, 14, 18, 15));
    // Midnight did not exist in São Paulo on 2018-11-04 (DST began at 00:00): the day starts at 01:00.
    expect(formatInZone(parseInstant('2018-11-04', 'start', 'America/Sao_Paulo'), 'America/Sao_Paulo')).toBe(
      '2018-11-04T01:00:00-02:00',
    );
  });

  it('rejects malformed values naming the parameter', () => {
    for (const bad of [
      '2025-13-01',
      '2025-02-30',
      'yesterday',
      '2025-01-01T25:00:00Z',
      '2025-01-01T00:00:00',
    ]) {
      expect(() => parseInstant(bad, 'end')).toThrow(/^end must be/);
      expect(() => parseInstant(bad, 'end')).toThrow(PlatformError);
    }
  });
});

describe('autoTimeframe', () => {
  it('follows the document thresholds', () => {
    expect(autoTimeframe(2 * HOUR_MS - 1)).toBe('minute');
    expect(autoTimeframe(2 * HOUR_MS)).toBe('hour');
    expect(autoTimeframe(2 * DAY_MS - 1)).toBe('hour');
    expect(autoTimeframe(2 * DAY_MS)).toBe('day');
    expect(autoTimeframe(64 * DAY_MS - 1)).toBe('day');
    expect(autoTimeframe(64 * DAY_MS)).toBe('week');
    expect(autoTimeframe(183 * DAY_MS - 1)).toBe('week');
    expect(autoTimeframe(183 * DAY_MS)).toBe('month');
  });
});

describe('buckets', () => {
  it('labels buckets with the zone offset at their start, across DST', () => {
    const tz = 'America/New_York';
    const win = {
      startMs: parseInstant('2025-03-08', 's', tz),
      endMs: parseInstant('2025-03-11', 'e', tz),
      timeframe: 'day',
      timezone: tz,
    } as const;
    expect(labels(win)).toEqual([
      '2025-03-08T00:00:00-05:00',
      '2025-03-09T00:00:00-05:00',
      '2025-03-10T00:00:00-04:00',
    ]);
    const b = listBuckets(win, 10);
    expect(b.map((x) => (x.end - x.start) / HOUR_MS)).toEqual([24, 23, 24]);
    const fall = {
      ...win,
      startMs: parseInstant('2025-11-02', 's', tz),
      endMs: parseInstant('2025-11-03', 'e', tz),
    };
    expect(listBuckets(fall, 10).map((x) => (x.end - x.start) / HOUR_MS)).toEqual([25]);
  });

  it('gives the repeated fall-back hour its own bucket', () => {
    const tz = 'America/New_York';
    const win: TimeWindow = {
      startMs: Date.UTC(2025, 10, 2, 4),
      endMs: Date.UTC(2025, 10, 2, 8),
      timeframe: 'hour',
      timezone: tz,
    };
    expect(labels(win)).toEqual([
      '2025-11-02T00:00:00-04:00',
      '2025-11-02T01:00:00-04:00',
      '2025-11-02T01:00:00-05:00',
      '2025-11-02T02:00:00-05:00',
    ]);
  });

  it('aligns half-hour and 45-minute zones', () => {
    const k = {
      startMs: parseInstant('2025-01-01', 's', 'Asia/Kolkata'),
      endMs: 0,
      timeframe: 'day',
      timezone: 'Asia/Kolkata',
    } as const;
    expect(labels({ ...k, endMs: k.startMs + 2 * DAY_MS })).toEqual([
      '2025-01-01T00:00:00+05:30',
      '2025-01-02T00:00:00+05:30',
    ]);
    const t = Date.UTC(2025, 0, 1, 12, 0);
    expect(formatInZone(bucketStart(t, 'hour', 'Asia/Kathmandu'), 'Asia/Kathmandu')).toBe(
      '2025-01-01T17:00:00+05:45',
    );
    expect(bucketStart(t, 'hour', 'Asia/Kathmandu')).toBe(Date.UTC(2025, 0, 1, 11, 15));
  });

  it('starts weeks on Monday and months on the 1st', () => {
    const wed = Date.UTC(2025, 0, 15, 12);
    expect(formatInZone(bucketStart(wed, 'week', 'UTC'), 'UTC')).toBe('2025-01-13T00:00:00+00:00');
    expect(formatInZone(bucketStart(wed, 'month', 'Europe/London'), 'Europe/London')).toBe(
      '2025-01-01T00:00:00+00:00',
    );
    const jul = Date.UTC(2025, 6, 15);
    expect(formatInZone(bucketStart(jul, 'month', 'Europe/London'), 'Europe/London')).toBe(
      '2025-07-01T00:00:00+01:00',
    );
    expect(formatInZone(nextBucketStart(bucketStart(jul, 'month', 'UTC'), 'month', 'UTC'), 'UTC')).toBe(
      '2025-08-01T00:00:00+00:00',
    );
  });

  it('finds buckets by binary search', () => {
    const b = listBuckets({ startMs: 0, endMs: 3 * HOUR_MS, timeframe: 'hour', timezone: 'UTC' }, 10);
    expect([
      findBucket(b, -1),
      findBucket(b, 0),
      findBucket(b, HOUR_MS),
      findBucket(b, 3 * HOUR_MS - 1),
      findBucket(b, 3 * HOUR_MS),
    ]).toEqual([-1, 0, 1, 2, -1]);
  });
});

/** Offset changes of a zone between two instants (found at 6-hour resolution, then exactly). */
function transitions(zone: string, from: number, to: number): number[] {
  const out: number[] = [];
  for (let t = from; t < to; t += 6 * HOUR_MS) {
    if (zoneOffsetMs(t, zone) === zoneOffsetMs(t + 6 * HOUR_MS, zone)) continue;
    let [a, b] = [t, t + 6 * HOUR_MS];
    while (b - a > 1000) {
      const mid = Math.floor((a + b) / 2000) * 1000;
      if (zoneOffsetMs(mid, zone) === zoneOffsetMs(a, zone)) a = mid;
      else b = mid;
    }
    out.push(b);
  }
  return out;
}

describe('bucket properties', () => {
  const from = Date.UTC(2010, 0, 1);
  const to = Date.UTC(2030, 0, 1);
  const changes = ZONES.flatMap((zone) =>
    transitions(zone, Date.UTC(2015, 0, 1), Date.UTC(2026, 0, 1)).map((t) => ({ zone, t })),
  );
  const nearChange = fc
    .tuple(fc.constantFrom(...changes), fc.integer({ min: -3 * HOUR_MS, max: HOUR_MS }))
    .map(([{ zone, t }, d]) => ({ zone, start: t + d }));
  const anywhere = fc.record({ zone: fc.constantFrom(...ZONES), start: fc.integer({ min: from, max: to }) });
  const arbWindow = fc
    .record({
      at: fc.oneof(anywhere, nearChange),
      timeframe: fc.constantFrom(...TIMEFRAMES),
      spanUnits: fc.integer({ min: 1, max: 40 }),
    })
    .map(({ at: { zone, start }, timeframe, spanUnits }) => {
      const unit = { minute: 60_000, hour: HOUR_MS, day: DAY_MS, week: 7 * DAY_MS, month: 31 * DAY_MS }[
        timeframe
      ];
      return { startMs: start, endMs: start + spanUnits * unit, timeframe, timezone: zone } as TimeWindow;
    });

  it('buckets are strictly increasing, contiguous and cover the window', () => {
    fc.assert(
      fc.property(arbWindow, (win) => {
        const b = listBuckets(win, 100_000);
        expect(b[0]!.start).toBe(win.startMs);
        expect(b.at(-1)!.end).toBe(win.endMs);
        for (let i = 0; i < b.length; i++) {
          expect(b[i]!.end).toBeGreaterThan(b[i]!.start);
          if (i > 0) expect(b[i]!.start).toBe(b[i - 1]!.end);
        }
      }),
      { numRuns: 300 },
    );
  });

  it('every instant lies in exactly one bucket, the one bucketStart names', () => {
    fc.assert(
      fc.property(arbWindow, fc.double({ min: 0, max: 1, noNaN: true }), (win, f) => {
        const aligned = { ...win, startMs: bucketStart(win.startMs, win.timeframe, win.timezone) };
        const b = listBuckets(aligned, 100_000);
        const t = Math.floor(aligned.startMs + f * (aligned.endMs - 1 - aligned.startMs));
        const holding = b.filter((x) => x.start <= t && t < x.end);
        expect(holding).toHaveLength(1);
        expect(holding[0]!.start).toBe(bucketStart(t, win.timeframe, win.timezone));
        expect(b[findBucket(b, t)]).toBe(holding[0]);
      }),
      { numRuns: 300 },
    );
  });

  it('a bucket start is its own bucket start and lies before the next', () => {
    fc.assert(
      fc.property(
        fc.oneof(anywhere, nearChange),
        fc.constantFrom(...TIMEFRAMES),
        ({ zone: tz, start: t }, tf) => {
          const s = bucketStart(t, tf, tz);
          const n = nextBucketStart(s, tf, tz);
          expect(s).toBeLessThanOrEqual(t);
          expect(n).toBeGreaterThan(t);
          expect(bucketStart(s, tf, tz)).toBe(s);
          expect(bucketStart(n - 1, tf, tz)).toBe(s);
        },
      ),
      { numRuns: 500 },
    );
  });
});
