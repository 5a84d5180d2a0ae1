import { afterEach, describe, expect, it, vi } from 'vitest';
import { formatBytes, formatCost, formatNumber, formatSeconds, formatTime } from './format.js';
import { printTable, visibleLength } from './output.js';

describe('formatters', () => {
  it('formats byte sizes', () => {
    expect(formatBytes(0)).toBe('0 B');
    expect(formatBytes(1023)).toBe('1023 B');
    expect(formatBytes(1536)).toBe('1.5 KiB');
    expect(formatBytes(12 * 1024 * 1024)).toBe('12.0 MiB');
  });

  it('formats durations from seconds', () => {
    expect(formatSeconds(0.85)).toBe('850ms');
    expect(formatSeconds(2.314)).toBe('2.31s');
    expect(formatSeconds(185)).toBe('3m05s');
    expect(formatSeconds(3720)).toBe('1h02m');
    expect(formatSeconds(null)).toBe('-');
  });

  it('shows sub-dollar costs with four decimals', () => {
    expect(formatCost(0.01234)).toBe('$0.0123 USD');
    expect(formatCost(12.5)).toBe('$12.50 USD');
    expect(formatCost(0)).toBe('$0.00 USD');
    expect(formatCost(3, 'EUR')).toBe('3.00 EUR');
  });

  it('formats numbers and times for tables', () => {
    expect(formatNumber(3)).toBe('3');
    expect(formatNumber(2.34567)).toBe('2.346');
    expect(formatNumber(undefined)).toBe('-');
    expect(formatTime('2025-01-15T12:00:05.123Z')).toBe('2025-01-15 12:00:05Z');
    expect(formatTime(null)).toBe('-');
  });
});

describe('printTable', () => {
  afterEach(() => vi.restoreAllMocks());

  it('aligns columns by visible width, ignoring colour codes, and shows missing cells as -', () => {
    const out: string[] = [];
    vi.spyOn(process.stdout, 'write').mockImplementation((s) => {
      out.push(String(s));
      return true;
    });
    printTable(
      ['NAME', 'STATUS', 'N'],
      [
        ['a', '\u001b[32m200\u001b[0m', 1],
        ['longer-name', null, 22],
      ],
    );
    const lines = out
      .join('')
      .split('\n')
      .filter(Boolean)
      .map((l) => l.replace(/\u001b\[[0-9;]*m/g, ''));
    expect(lines).toEqual(['NAME         STATUS  N', 'a            200     1', 'longer-name  -       22']);
    expect(visibleLength('\u001b[1mab\u001b[0m')).toBe(2);
  });
});
