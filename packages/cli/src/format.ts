/** Human byte size: `0 B`, `1.5 KiB`, `12.0 MiB`. */
export function formatBytes(n: number): string {
  if (!Number.isFinite(n)) return '-';
  const units = ['B', 'KiB', 'MiB', 'GiB', 'TiB'];
  let v = n;
  let i = 0;
  while (Math.abs(v) >= 1024 && i < units.length - 1) {
    v /= 1024;
    i++;
  }
  return i === 0 ? `${v} B` : `${v.toFixed(1)} ${units[i]}`;
}

/** Human duration from seconds: `850ms`, `2.31s`, `3m05s`, `1h02m`. */
export function formatSeconds(s: number | null | undefined): string {
  if (s === null || s === undefined || !Number.isFinite(s)) return '-';
  if (s < 1) return `${Math.round(s * 1000)}ms`;
  if (s < 60) return `${s.toFixed(2)}s`;
  const m = Math.floor(s / 60);
  if (m < 60) return `${m}m${String(Math.floor(s % 60)).padStart(2, '0')}s`;
  return `${Math.floor(m / 60)}h${String(m % 60).padStart(2, '0')}m`;
}

/** A money amount with enough decimals to show sub-cent costs: `$0.0123 USD`, `$12.50 USD`. */
export function formatCost(amount: number, currency = 'USD'): string {
  const digits = amount !== 0 && Math.abs(amount) < 1 ? 4 : 2;
  const symbol = currency === 'USD' ? '$' : '';
  return `${symbol}${amount.toFixed(digits)} ${currency}`;
}

/** A compact number for tables (integers as is, others with up to 3 decimals). */
export function formatNumber(n: number | null | undefined): string {
  if (n === null || n === undefined) return '-';
  if (Number.isInteger(n)) return String(n);
  return String(Number(n.toFixed(3)));
}

/** An ISO timestamp shortened for tables: `2025-01-15 12:00:05` (UTC kept as Z-less text). */
export function formatTime(iso: string | null | undefined): string {
  if (!iso) return '-';
  const t = Date.parse(iso);
  if (Number.isNaN(t)) return iso;
  return new Date(t)
    .toISOString()
    .replace('T', ' ')
    .replace(/\.\d+Z$/, 'Z');
}
