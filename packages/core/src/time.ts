import { PlatformError } from './errors.js';

/** Bucket sizes of fal's time series. */
export type Timeframe = 'minute' | 'hour' | 'day' | 'week' | 'month';

/** Every timeframe, shortest first. */
export const TIMEFRAMES: readonly Timeframe[] = ['minute', 'hour', 'day', 'week', 'month'];

export const MINUTE_MS = 60_000;
export const HOUR_MS = 60 * MINUTE_MS;
export const DAY_MS = 24 * HOUR_MS;

/** Wall-clock fields of an instant in a zone, plus the zone's UTC offset at that instant. */
interface Wall {
  y: number;
  mo: number;
  d: number;
  h: number;
  mi: number;
  s: number;
  /** Milliseconds east of UTC. */
  offset: number;
}

const formatters = new Map<string, Intl.DateTimeFormat>();

function formatter(timezone: string): Intl.DateTimeFormat {
  let f = formatters.get(timezone);
  if (!f) {
    f = new Intl.DateTimeFormat('en-US', {
      timeZone: timezone,
      hourCycle: 'h23',
      year: 'numeric',
      month: '2-digit',
      day: '2-digit',
      hour: '2-digit',
      minute: '2-digit',
      second: '2-digit',
    });
    formatters.set(timezone, f);
  }
  return f;
}

/** Throws REQUEST_INVALID unless `timezone` is an IANA zone name the runtime knows. */
export function assertTimezone(timezone: string, param = 'timezone'): void {
  if (formatters.has(timezone)) return;
  try {
    formatter(timezone);
  } catch {
    throw new PlatformError('REQUEST_INVALID', `${param} must be an IANA time zone name (got "${timezone}")`);
  }
}

// `format` (not formatToParts) is several times faster; en-US with 2-digit fields is "MM/DD/YYYY, HH:mm:ss".
const WALL_RE = /^(\d{2})\/(\d{2})\/(\d{4}), (\d{2}):(\d{2}):(\d{2})$/;

const UTC_ZONES = new Set(['UTC', 'Etc/UTC', 'GMT', 'Etc/GMT']);

function wallOf(ms: number, timezone: string): Wall {
  if (UTC_ZONES.has(timezone)) {
    const d = new Date(ms);
    const [y, mo, day] = [d.getUTCFullYear(), d.getUTCMonth() + 1, d.getUTCDate()];
    return { y, mo, d: day, h: d.getUTCHours(), mi: d.getUTCMinutes(), s: d.getUTCSeconds(), offset: 0 };
  }
  const m = WALL_RE.exec(formatter(timezone).format(ms));
  if (!m) throw new Error(`unexpected date format for ${timezone}`);
  const w = { y: +m[3]!, mo: +m[1]!, d: +m[2]!, h: +m[4]!, mi: +m[5]!, s: +m[6]!, offset: 0 };
  const whole = ms - (((ms % 1000) + 1000) % 1000);
  w.offset = Date.UTC(w.y, w.mo - 1, w.d, w.h, w.mi, w.s) - whole;
  return w;
}

/** The zone's offset from UTC at an instant, in milliseconds east. */
export function zoneOffsetMs(ms: number, timezone: string): number {
  return wallOf(ms, timezone).offset;
}

const pad = (n: number, width = 2) => String(n).padStart(width, '0');

/** ISO 8601 with the zone's offset at that instant, e.g. `2025-01-15T00:00:00-05:00`. */
export function formatInZone(ms: number, timezone: string): string {
  const w = wallOf(ms, timezone);
  const sign = w.offset < 0 ? '-' : '+';
  const abs = Math.round(Math.abs(w.offset) / MINUTE_MS);
  const off = `${sign}${pad(Math.floor(abs / 60))}:${pad(abs % 60)}`;
  return `${pad(w.y, 4)}-${pad(w.mo)}-${pad(w.d)}T${pad(w.h)}:${pad(w.mi)}:${pad(w.s)}${off}`;
}

/** Wall time (as a UTC epoch of the wall fields) at which the period holding `w` starts. */
function periodStartWall(w: Wall, tf: Timeframe): number {
  switch (tf) {
    case 'minute':
      return Date.UTC(w.y, w.mo - 1, w.d, w.h, w.mi);
    case 'hour':
      return Date.UTC(w.y, w.mo - 1, w.d, w.h);
    case 'day':
      return Date.UTC(w.y, w.mo - 1, w.d);
    case 'week': {
      const day = Date.UTC(w.y, w.mo - 1, w.d);
      const sinceMonday = (new Date(day).getUTCDay() + 6) % 7;
      return day - sinceMonday * DAY_MS;
    }
    case 'month':
      return Date.UTC(w.y, w.mo - 1, 1);
  }
}

/** Wall time at which the period after the one starting at wall `start` begins. */
function nextPeriodWall(start: number, tf: Timeframe): number {
  switch (tf) {
    case 'minute':
      return start + MINUTE_MS;
    case 'hour':
      return start + HOUR_MS;
    case 'day':
      return start + DAY_MS;
    case 'week':
      return start + 7 * DAY_MS;
    case 'month': {
      const d = new Date(start);
      return Date.UTC(d.getUTCFullYear(), d.getUTCMonth() + 1, 1);
    }
  }
}

/**
 * Sub-day buckets are keyed by wall period and offset (so the repeated hour of a DST fall-back is its own
 * bucket); day and longer buckets by wall date only (so a DST day lasts 23 or 25 hours).
 */
function keyOf(w: Wall, tf: Timeframe): string {
  const p = periodStartWall(w, tf);
  return tf === 'minute' || tf === 'hour' ? `${p}@${w.offset}` : String(p);
}

/** First instant in (lo, hi] whose offset differs from the offset at `lo` (offset at hi must differ). */
function findTransition(lo: number, hi: number, timezone: string): number {
  const base = zoneOffsetMs(lo, timezone);
  let a = Math.floor(lo / 1000);
  let b = Math.ceil(hi / 1000);
  while (b - a > 1) {
    const mid = Math.floor((a + b) / 2);
    if (zoneOffsetMs(mid * 1000, timezone) === base) a = mid;
    else b = mid;
  }
  return b * 1000;
}

/** The first instant after `ms` that starts a new bucket (buckets are maximal runs of one key). */
export function nextBucketStart(ms: number, tf: Timeframe, timezone: string): number {
  const w0 = wallOf(ms, timezone);
  const key = keyOf(w0, tf);
  const wallNext = nextPeriodWall(periodStartWall(w0, tf), tf);
  let cur = ms;
  let curOffset = w0.offset;
  for (;;) {
    const candidate = wallNext - curOffset;
    const wc = wallOf(candidate, timezone);
    if (wc.offset === curOffset) return candidate;
    const t = findTransition(cur, candidate, timezone);
    if (keyOf(wallOf(t, timezone), tf) !== key) return t;
    cur = t;
    curOffset = zoneOffsetMs(t, timezone);
  }
}

/** Start of the bucket that holds `ms`. */
export function bucketStart(ms: number, tf: Timeframe, timezone: string): number {
  const w = wallOf(ms, timezone);
  const guess = periodStartWall(w, tf) - w.offset;
  const key = keyOf(w, tf);
  if (guess <= ms) {
    const wg = wallOf(guess, timezone);
    if (wg.offset === w.offset && keyOf(wg, tf) === key && keyOf(wallOf(guess - 1, timezone), tf) !== key) {
      return guess;
    }
  }
  // Near an offset change: walk forward from a point safely inside the previous bucket.
  const back = tf === 'minute' || tf === 'hour' ? 3 * HOUR_MS : 2 * DAY_MS;
  let s = Math.min(guess, ms) - back;
  for (;;) {
    const n = nextBucketStart(s, tf, timezone);
    if (n > ms) return s;
    s = n;
  }
}

/** The instant a local date starts in a zone (midnight, or the end of a DST gap at midnight). */
export function startOfLocalDate(y: number, mo: number, d: number, timezone: string): number {
  // Local noon always exists: resolve it, then align down to its day.
  const noonWall = Date.UTC(y, mo - 1, d, 12);
  let t = noonWall - zoneOffsetMs(noonWall, timezone);
  t = noonWall - zoneOffsetMs(t, timezone);
  return bucketStart(t, 'day', timezone);
}

/** Later instants, aligned up to a bucket end or shifted into a zone, would need a five-digit year. */
const MAX_YEAR = 9998;
const DATE_ONLY = /^(\d{4})-(\d{2})-(\d{2})$/;
const DATE_TIME =
  /^(\d{4})-(\d{2})-(\d{2})[Tt ](\d{2}):(\d{2}):(\d{2})(\.\d{1,9})?([Zz]|([+-])(\d{2}):(\d{2}))$/;

function validDate(y: number, mo: number, d: number): boolean {
  const t = new Date(Date.UTC(y, mo - 1, d));
  return t.getUTCFullYear() === y && t.getUTCMonth() === mo - 1 && t.getUTCDate() === d;
}

/**
 * Parses an RFC 3339 date-time or a bare `YYYY-MM-DD` (midnight of that date in `timezone`) to epoch ms;
 * throws REQUEST_INVALID naming `param`.
 */
export function parseInstant(value: string, param: string, timezone = 'UTC'): number {
  const bad = () =>
    new PlatformError(
      'REQUEST_INVALID',
      `${param} must be an RFC 3339 date-time or YYYY-MM-DD (got "${value}")`,
    );
  const date = DATE_ONLY.exec(value);
  if (date) {
    const [y, mo, d] = [+date[1]!, +date[2]!, +date[3]!];
    if (y < 1970 || y > MAX_YEAR || !validDate(y, mo, d)) throw bad();
    return startOfLocalDate(y, mo, d, timezone);
  }
  const m = DATE_TIME.exec(value);
  if (!m) throw bad();
  const [y, mo, d, h, mi, s] = [+m[1]!, +m[2]!, +m[3]!, +m[4]!, +m[5]!, +m[6]!];
  if (y < 1970 || y > MAX_YEAR || !validDate(y, mo, d) || h > 23 || mi > 59 || s > 59) throw bad();
  const frac = m[7] ? Math.floor(Number(`0${m[7]}`) * 1000) : 0;
  let offset = 0;
  if (m[9]) {
    const oh = +m[10]!;
    const om = +m[11]!;
    if (oh > 23 || om > 59) throw bad();
    offset = (m[9] === '-' ? -1 : 1) * (oh * HOUR_MS + om * MINUTE_MS);
  }
  return Date.UTC(y, mo - 1, d, h, mi, s) + frac - offset;
}

/** fal's auto-detected timeframe for a range length: <2h minute, <2d hour, <64d day, <183d week, else month. */
export function autoTimeframe(rangeMs: number): Timeframe {
  if (rangeMs < 2 * HOUR_MS) return 'minute';
  if (rangeMs < 2 * DAY_MS) return 'hour';
  if (rangeMs < 64 * DAY_MS) return 'day';
  if (rangeMs < 183 * DAY_MS) return 'week';
  return 'month';
}

/** A resolved query window: `[startMs, endMs)` bucketed by `timeframe` in `timezone`. */
export interface TimeWindow {
  startMs: number;
  endMs: number;
  timeframe: Timeframe;
  timezone: string;
}

/** One time-series bucket `[start, end)` and its label. */
export interface Bucket {
  start: number;
  end: number;
  /** ISO 8601 with the zone's offset at `start`. */
  label: string;
}

/**
 * Up to `max` consecutive buckets of the window, beginning with the one that holds `fromMs` (default: the
 * window start). The first bucket starts at the window start even when that is not a period boundary, and
 * the last ends at the window end.
 */
export function listBuckets(win: TimeWindow, max: number, fromMs = win.startMs): Bucket[] {
  const out: Bucket[] = [];
  if (fromMs >= win.endMs) return out;
  let start =
    fromMs <= win.startMs
      ? win.startMs
      : Math.max(win.startMs, bucketStart(fromMs, win.timeframe, win.timezone));
  while (start < win.endMs && out.length < max) {
    const end = Math.min(nextBucketStart(start, win.timeframe, win.timezone), win.endMs);
    out.push({ start, end, label: formatInZone(start, win.timezone) });
    start = end;
  }
  return out;
}

/** Index of the bucket holding `ms` in a contiguous, increasing bucket list, or -1 when outside. */
export function findBucket(buckets: readonly Bucket[], ms: number): number {
  let lo = 0;
  let hi = buckets.length - 1;
  if (hi < 0 || ms < buckets[0]!.start || ms >= buckets[hi]!.end) return -1;
  while (lo < hi) {
    const mid = (lo + hi + 1) >> 1;
    if (buckets[mid]!.start <= ms) lo = mid;
    else hi = mid - 1;
  }
  return lo;
}
