import { PlatformError } from './errors.js';
import {
  assertTimezone,
  autoTimeframe,
  bucketStart,
  DAY_MS,
  nextBucketStart,
  parseInstant,
  type Timeframe,
  type TimeWindow,
} from './time.js';

/** A multi-valued query parameter as Fastify's querystring parser delivers it. */
export type MultiValue = string | readonly string[] | undefined;

/** Options of `parseList`. */
export interface ListOptions {
  /** Fewest values allowed (0 = optional). */
  min?: number;
  max?: number;
}

/**
 * Flattens a form/explode parameter given repeated (`?a=x&a=y`) or comma-separated (`?a=x,y`), trimming
 * blanks and duplicates (first occurrence wins); throws REQUEST_INVALID naming `param` outside `min..max`.
 */
export function parseList(value: MultiValue, param: string, opts: ListOptions = {}): string[] {
  const raw = value === undefined ? [] : typeof value === 'string' ? [value] : value;
  const seen = new Set<string>();
  for (const part of raw.flatMap((v) => v.split(','))) {
    const v = part.trim();
    if (v) seen.add(v);
  }
  const out = [...seen];
  const min = opts.min ?? 0;
  if (out.length < min)
    throw new PlatformError('REQUEST_INVALID', `${param} requires at least ${min} value(s)`);
  if (opts.max !== undefined && out.length > opts.max) {
    throw new PlatformError('REQUEST_INVALID', `${param} accepts at most ${opts.max} values`);
  }
  return out;
}

/** Throws REQUEST_INVALID unless every value is one of `allowed`. */
export function assertAllowed(values: readonly string[], allowed: readonly string[], param: string): void {
  const bad = values.filter((v) => !allowed.includes(v));
  if (bad.length > 0) {
    throw new PlatformError(
      'REQUEST_INVALID',
      `${param}: unknown value(s) ${bad.join(', ')}; allowed: ${allowed.join(', ')}`,
    );
  }
}

/** The shared time parameters of fal's time-series operations (§1.6). */
export interface TimeQuery {
  start?: string;
  end?: string;
  timezone?: string;
  timeframe?: Timeframe;
  /** fal sends this as the string "true" or "false". */
  bound_to_timeframe?: string | boolean;
}

/** Server-side rules applied to a `TimeQuery`. */
export interface TimeRules {
  now: number;
  /** Window length when `start` is omitted (default 24 h). */
  defaultSpanMs?: number;
  /** Longest accepted window, in days. */
  maxRangeDays: number;
}

/** Parses `bound_to_timeframe` ("true"/"false", default true). */
export function parseBound(value: string | boolean | undefined): boolean {
  if (value === undefined || value === true || value === 'true') return true;
  if (value === false || value === 'false') return false;
  throw new PlatformError('REQUEST_INVALID', 'bound_to_timeframe must be "true" or "false"');
}

/**
 * Resolves start/end/timezone/timeframe/bound_to_timeframe: `end` defaults to now and is exclusive, `start`
 * to `end` minus the default span; the timeframe is auto-detected from the requested range; when bound, the
 * start is aligned down and the end up to period boundaries in the zone. Ranges over the cap are refused.
 */
export function resolveTimeWindow(q: TimeQuery, rules: TimeRules): TimeWindow {
  const timezone = q.timezone?.trim() || 'UTC';
  assertTimezone(timezone);
  const endMs = q.end === undefined ? rules.now : parseInstant(q.end, 'end', timezone);
  const startMs =
    q.start === undefined
      ? endMs - (rules.defaultSpanMs ?? DAY_MS)
      : parseInstant(q.start, 'start', timezone);
  if (startMs >= endMs) throw new PlatformError('REQUEST_INVALID', 'start must be before end');
  if (endMs - startMs > rules.maxRangeDays * DAY_MS) {
    throw new PlatformError('REQUEST_INVALID', `the time range may span at most ${rules.maxRangeDays} days`);
  }
  const timeframe = q.timeframe ?? autoTimeframe(endMs - startMs);
  if (!parseBound(q.bound_to_timeframe)) return { startMs, endMs, timeframe, timezone };
  const alignedStart = bucketStart(startMs, timeframe, timezone);
  const endBucket = bucketStart(endMs, timeframe, timezone);
  const alignedEnd = endBucket === endMs ? endMs : nextBucketStart(endBucket, timeframe, timezone);
  return { startMs: alignedStart, endMs: alignedEnd, timeframe, timezone };
}

/** Parses `limit` against a default and a ceiling (schemas already reject non-integers). */
export function clampLimit(limit: number | undefined, fallback: number, max: number): number {
  const v = limit ?? fallback;
  if (!Number.isInteger(v) || v < 1 || v > max) {
    throw new PlatformError('REQUEST_INVALID', `limit must be an integer between 1 and ${max}`);
  }
  return v;
}
