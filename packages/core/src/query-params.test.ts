import { describe, expect, it } from 'vitest';
import { PlatformError } from './errors.js';
import { clampLimit, parseList, resolveTimeWindow } from './query-params.js';
import { DAY_MS, HOUR_MS } from './time.js';

const NOW = Date.UTC(2025, 0, 15, 10, 30);

describe('parseList', () => {
  it('accepts repeated and comma-separated values alike', () => {
    expect(parseList('a/b,c/d', 'endpoint_id')).toEqual(['a/b', 'c/d']);
    expect(parseList(['a/b', 'c/d,a/b', ' '], 'endpoint_id')).toEqual(['a/b', 'c/d']);
    expect(parseList(undefined, 'app')).toEqual([]);
  });

  it('enforces bounds naming the parameter', () => {
    expect(() => parseList(undefined, 'endpoint_id', { min: 1 })).toThrow(/endpoint_id/);
    const many = Array.from({ length: 51 }, (_, i) => `o/a${i}`);
    expect(() => parseList(many, 'endpoint_id', { max: 50 })).toThrow(PlatformError);
  });
});

describe('resolveTimeWindow', () => {
  const rules = { now: NOW, maxRangeDays: 90 };

  it('defaults to the last 24 hours, hourly, aligned to hours', () => {
    expect(resolveTimeWindow({}, rules)).toEqual({
      startMs: Date.UTC(2025, 0, 14, 10),
      endMs: Date.UTC(2025, 0, 15, 11),
      timeframe: 'hour',
      timezone: 'UTC',
    });
  });

  it('uses exact instants when not bound', () => {
    const w = resolveTimeWindow({ bound_to_timeframe: 'false' }, rules);
    expect([w.startMs, w.endMs]).toEqual([NOW - DAY_MS, NOW]);
  });

  it('aligns days in the requested zone and keeps end exclusive', () => {
    const w = resolveTimeWindow(
      { start: '2025-01-01', end: '2025-01-08', timezone: 'America/New_York' },
      rules,
    );
    expect(w).toEqual({
      startMs: Date.UTC(2025, 0, 1, 5),
      endMs: Date.UTC(2025, 0, 8, 5),
      timeframe: 'day',
      timezone: 'America/New_York',
    });
  });

  it('refuses bad zones, inverted and over-long ranges', () => {
    expect(() => resolveTimeWindow({ timezone: 'Mars/Olympus' }, rules)).toThrow(/timezone/);
    expect(() => resolveTimeWindow({ start: '2025-01-02', end: '2025-01-01' }, rules)).toThrow(/start/);
    expect(() => resolveTimeWindow({ start: '2024-01-01', end: '2025-01-01' }, rules)).toThrow(/90 days/);
    expect(() => resolveTimeWindow({ bound_to_timeframe: 'yes' }, rules)).toThrow(/bound_to_timeframe/);
  });

  it('honours an explicit timeframe and a custom default span', () => {
    const w = resolveTimeWindow({ timeframe: 'minute' }, { ...rules, defaultSpanMs: HOUR_MS });
    expect(w.timeframe).toBe('minute');
    expect(w.endMs - w.startMs).toBe(HOUR_MS);
  });
});

describe('clampLimit', () => {
  it('defaults and bounds', () => {
    expect(clampLimit(undefined, 50, 100)).toBe(50);
    expect(() => clampLimit(101, 50, 100)).toThrow(/limit/);
  });
});
