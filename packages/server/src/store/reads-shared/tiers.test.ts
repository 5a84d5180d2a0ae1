import { DAY_MS, HOUR_MS, MINUTE_MS } from '@hangar/core';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { planTiers, QUARTER_MS, ROLLUP_SPANS } from './tiers.js';

describe('planTiers', () => {
  it('reads whole hours from hourly rollups and the rest from finer ones', () => {
    const start = Date.UTC(2025, 0, 1, 18, 30);
    const plan = planTiers([{ start, end: start + 24 * HOUR_MS }]);
    expect(plan.get(HOUR_MS)).toEqual([[start + 30 * MINUTE_MS, start + 23.5 * HOUR_MS]]);
    expect(plan.get(QUARTER_MS)).toEqual([
      [start, start + 30 * MINUTE_MS],
      [start + 23.5 * HOUR_MS, start + 24 * HOUR_MS],
    ]);
    expect(plan.get(MINUTE_MS)).toBeUndefined();
  });

  it('reads whole UTC days from daily rollups inside a long bucket', () => {
    const start = Date.UTC(2025, 0, 1, 5);
    const end = Date.UTC(2025, 1, 1, 5);
    const plan = planTiers([{ start, end }]);
    expect(plan.get(DAY_MS)).toEqual([[Date.UTC(2025, 0, 2), Date.UTC(2025, 1, 1)]]);
    expect(plan.get(HOUR_MS)).toEqual([
      [start, Date.UTC(2025, 0, 2)],
      [Date.UTC(2025, 1, 1), end],
    ]);
  });

  it('covers every minute of contiguous buckets exactly once, aligned to its span', () => {
    const arb = fc.array(fc.integer({ min: 1, max: 600 }), { minLength: 1, maxLength: 20 });
    fc.assert(
      fc.property(fc.integer({ min: 0, max: 10_000 }), arb, fc.boolean(), (startMin, lengths, long) => {
        let t = startMin * MINUTE_MS;
        // Long runs stretch each bucket to hours so whole UTC days fall inside some of them.
        const unit = long ? 15 * MINUTE_MS : MINUTE_MS;
        const buckets = lengths.map((l) => {
          const b = { start: t, end: t + l * unit };
          t = b.end;
          return b;
        });
        const plan = planTiers(buckets);
        const covered: number[] = [];
        for (const span of ROLLUP_SPANS) {
          for (const [from, to] of plan.get(span) ?? []) {
            expect(from % span).toBe(0);
            expect(to % span).toBe(0);
            for (let m = from; m < to; m += MINUTE_MS) covered.push(m);
          }
        }
        covered.sort((a, b) => a - b);
        const expected = [];
        for (let m = buckets[0]!.start; m < t; m += MINUTE_MS) expected.push(m);
        expect(covered).toEqual(expected);
        // A span-sized row never straddles two buckets.
        for (const span of [DAY_MS, HOUR_MS, QUARTER_MS]) {
          for (const [from, to] of plan.get(span) ?? []) {
            for (let s = from; s < to; s += span) {
              const holder = buckets.find((b) => b.start <= s && s < b.end)!;
              expect(s + span).toBeLessThanOrEqual(holder.end);
            }
          }
        }
      }),
    );
  });
});
