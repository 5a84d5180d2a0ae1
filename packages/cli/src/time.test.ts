import { describe, expect, it } from 'vitest';
import { parseDuration, parseTimeBound } from './time.js';

const NOW = Date.parse('2025-03-10T12:00:00.000Z');

describe('parseDuration', () => {
  it('reads seconds, minutes, hours, days and weeks', () => {
    expect(parseDuration('30s')).toBe(30_000);
    expect(parseDuration('15m')).toBe(900_000);
    expect(parseDuration('2h')).toBe(7_200_000);
    expect(parseDuration('7d')).toBe(604_800_000);
    expect(parseDuration('1w')).toBe(604_800_000);
    expect(parseDuration('1.5h')).toBe(5_400_000);
    expect(parseDuration('2H')).toBe(7_200_000);
  });

  it('refuses anything else', () => {
    for (const bad of ['', '15', 'm', '15x', '-2h', '2 hours', '1h30m'])
      expect(parseDuration(bad)).toBeNull();
  });
});

describe('parseTimeBound', () => {
  it('turns a duration into the instant that long before now', () => {
    expect(parseTimeBound('15m', NOW)).toBe('2025-03-10T11:45:00.000Z');
    expect(parseTimeBound('7d', NOW)).toBe('2025-03-03T12:00:00.000Z');
    expect(parseTimeBound('now', NOW)).toBe('2025-03-10T12:00:00.000Z');
  });

  it('passes dates through and normalises timestamps to UTC', () => {
    expect(parseTimeBound('2025-01-31', NOW)).toBe('2025-01-31');
    expect(parseTimeBound('2025-01-31T10:00:00+02:00', NOW)).toBe('2025-01-31T08:00:00.000Z');
    expect(parseTimeBound('2025-01-31 10:00:00Z', NOW)).toBe('2025-01-31T10:00:00.000Z');
  });

  it('throws a usage error for text it cannot read', () => {
    for (const bad of ['yesterday', '2025-13-45T99', '12:00', 'ago 2h']) {
      expect(() => parseTimeBound(bad, NOW)).toThrow(/duration like 15m/);
    }
  });
});
