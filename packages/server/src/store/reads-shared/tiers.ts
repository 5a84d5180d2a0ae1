import { DAY_MS, HOUR_MS, MINUTE_MS } from '@hangar/core';

/** A half-open interval `[from, to)` of epoch ms. */
export type Range = readonly [number, number];

export const QUARTER_MS = 15 * MINUTE_MS;

/**
 * Spans the rollup tables keep, longest first. Every zone in use today is offset from UTC by a multiple of
 * 15 minutes, so bucket boundaries fall on quarter hours and minute rows are only read for odd windows.
 * UTC-day rows let a year of monthly buckets read ~365 rows per endpoint instead of ~8,760 hourly ones; a
 * bucket that does not start on a UTC midnight reads its edges from hour and quarter rows.
 */
export const ROLLUP_SPANS = [DAY_MS, HOUR_MS, QUARTER_MS, MINUTE_MS] as const;

/** Spans of `meter_rollups` (quarter hours and hours; minutes come from the meter table itself). */
export const METER_SPANS = [HOUR_MS, QUARTER_MS, MINUTE_MS] as const;

/** For each span, the ranges to read from rollups of that span. */
export type TierPlan = Map<number, Range[]>;

function push(plan: TierPlan, span: number, from: number, to: number): void {
  if (from >= to) return;
  let list = plan.get(span);
  if (!list) {
    list = [];
    plan.set(span, list);
  }
  const last = list.at(-1);
  if (last && last[1] === from) list[list.length - 1] = [last[0], to];
  else list.push([from, to]);
}

function cover(plan: TierPlan, spans: readonly number[], from: number, to: number, level: number): void {
  const span = spans[level]!;
  if (level === spans.length - 1) {
    push(plan, span, from, to);
    return;
  }
  const a = Math.ceil(from / span) * span;
  const b = Math.floor(to / span) * span;
  if (a >= b) {
    cover(plan, spans, from, to, level + 1);
    return;
  }
  cover(plan, spans, from, a, level + 1);
  push(plan, span, a, b);
  cover(plan, spans, b, to, level + 1);
}

/**
 * Covers contiguous buckets with the longest rollup spans that fit inside each bucket, so every stored
 * row is read at most once and lands in exactly one bucket; adjacent ranges merge to keep queries few.
 */
export function planTiers(
  buckets: readonly { start: number; end: number }[],
  spans: readonly number[] = ROLLUP_SPANS,
): TierPlan {
  const plan: TierPlan = new Map();
  for (const { start, end } of buckets) cover(plan, spans, start, end, 0);
  return plan;
}
