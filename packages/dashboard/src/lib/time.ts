import type { Timeframe } from '@hangar/client';

/** A relative time window offered by the pickers. */
export interface RangePreset {
  id: string;
  label: string;
  seconds: number;
}

/** The windows the pickers offer. */
export const RANGES: readonly RangePreset[] = [
  { id: '15m', label: 'Last 15 minutes', seconds: 900 },
  { id: '1h', label: 'Last hour', seconds: 3600 },
  { id: '6h', label: 'Last 6 hours', seconds: 6 * 3600 },
  { id: '24h', label: 'Last 24 hours', seconds: 86_400 },
  { id: '7d', label: 'Last 7 days', seconds: 7 * 86_400 },
  { id: '30d', label: 'Last 30 days', seconds: 30 * 86_400 },
  { id: '90d', label: 'Last 90 days', seconds: 90 * 86_400 },
];

/** Bucket sizes; `auto` lets the server choose from the window length. */
export const TIMEFRAMES: readonly ('auto' | Timeframe)[] = ['auto', 'minute', 'hour', 'day', 'week', 'month'];

/** `start`/`end` of a preset window ending now. */
export function windowOf(rangeId: string, now = Date.now()): { start: string; end: string } {
  const r = RANGES.find((x) => x.id === rangeId) ?? RANGES[3]!;
  return { start: new Date(now - r.seconds * 1000).toISOString(), end: new Date(now).toISOString() };
}

/** The browser's IANA time zone. */
export function browserTimeZone(): string {
  return Intl.DateTimeFormat().resolvedOptions().timeZone || 'UTC';
}

/** IANA zones the browser knows, UTC and the browser's own first. */
export function timeZones(): string[] {
  const supported = (Intl as { supportedValuesOf?: (k: string) => string[] }).supportedValuesOf;
  const all = supported ? supported('timeZone') : [];
  return [...new Set(['UTC', browserTimeZone(), ...all])];
}

/** A `datetime-local` input value for an instant, in the browser's zone. */
export function toLocalInput(iso: string): string {
  const d = new Date(iso);
  const pad = (n: number) => String(n).padStart(2, '0');
  return `${d.getFullYear()}-${pad(d.getMonth() + 1)}-${pad(d.getDate())}T${pad(d.getHours())}:${pad(d.getMinutes())}`;
}

/** The instant a `datetime-local` value names (browser zone), or undefined when empty. */
export function fromLocalInput(v: string): string | undefined {
  if (!v) return undefined;
  const d = new Date(v);
  return Number.isNaN(d.getTime()) ? undefined : d.toISOString();
}
