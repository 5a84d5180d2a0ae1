import { InvalidArgumentError } from 'commander';

const UNIT_MS: Record<string, number> = {
  s: 1000,
  m: 60_000,
  h: 3_600_000,
  d: 86_400_000,
  w: 604_800_000,
};

/** Milliseconds of a duration like `90s`, `15m`, `2h`, `7d`, `1w` (decimals allowed), or null. */
export function parseDuration(text: string): number | null {
  const m = /^(\d+(?:\.\d+)?)\s*([smhdw])$/i.exec(text.trim());
  if (!m) return null;
  return Number(m[1]) * (UNIT_MS[(m[2] ?? '').toLowerCase()] ?? 0);
}

/**
 * A time bound for the API from a duration before `now` (`15m`, `2h`, `7d`), a date (`2025-01-31`,
 * passed as is so the server reads it in its own rules) or a timestamp; throws a usage error otherwise.
 */
export function parseTimeBound(text: string, now: number = Date.now()): string {
  const value = text.trim();
  if (value === 'now') return new Date(now).toISOString();
  const ms = parseDuration(value);
  if (ms !== null) return new Date(now - ms).toISOString();
  if (/^\d{4}-\d{2}-\d{2}$/.test(value)) return value;
  if (/^\d{4}-\d{2}-\d{2}[T ]/.test(value)) {
    const t = Date.parse(value.replace(' ', 'T'));
    if (!Number.isNaN(t)) return new Date(t).toISOString();
  }
  throw new InvalidArgumentError(`expected a duration like 15m, 2h, 7d or a timestamp, got "${text}"`);
}

/** Commander parser for `--since`/`--until`. */
export const timeOption = (value: string): string => parseTimeBound(value);
