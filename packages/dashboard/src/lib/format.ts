/** Seconds as a short human duration: `830 ms`, `4.2 s`, `3m 05s`, `2h 10m`. */
export function fmtDuration(seconds: number | null | undefined): string {
  if (seconds === null || seconds === undefined || !Number.isFinite(seconds)) return '—';
  if (seconds < 0.01) return `${(seconds * 1000).toFixed(seconds === 0 ? 0 : 1)} ms`;
  if (seconds < 1) return `${Math.round(seconds * 1000)} ms`;
  if (seconds < 60) return `${seconds.toFixed(seconds < 10 ? 2 : 1)} s`;
  const m = Math.floor(seconds / 60);
  if (m < 60) return `${m}m ${String(Math.round(seconds % 60)).padStart(2, '0')}s`;
  return `${Math.floor(m / 60)}h ${String(m % 60).padStart(2, '0')}m`;
}

/** A byte count with a binary unit. */
export function fmtBytes(n: number): string {
  if (n < 1024) return `${n} B`;
  const units = ['KiB', 'MiB', 'GiB', 'TiB'];
  let v = n / 1024;
  let i = 0;
  while (v >= 1024 && i < units.length - 1) {
    v /= 1024;
    i++;
  }
  return `${v.toFixed(v < 10 ? 1 : 0)} ${units[i]}`;
}

/** An amount of money; small amounts keep enough digits to not read as zero. */
export function fmtMoney(n: number, currency = 'USD'): string {
  const digits = n !== 0 && Math.abs(n) < 0.01 ? 6 : n < 100 ? 4 : 2;
  try {
    return new Intl.NumberFormat(undefined, {
      style: 'currency',
      currency,
      minimumFractionDigits: 2,
      maximumFractionDigits: digits,
    }).format(n);
  } catch {
    return `${n.toFixed(digits)} ${currency}`;
  }
}

/** A number with grouping and at most `digits` decimals. */
export function fmtNumber(n: number | null | undefined, digits = 2): string {
  if (n === null || n === undefined || !Number.isFinite(n)) return '—';
  return new Intl.NumberFormat(undefined, { maximumFractionDigits: digits }).format(n);
}

/** A date-time in the browser's (or the given) time zone, to the second. */
export function fmtTime(iso: string | null | undefined, timeZone?: string): string {
  if (!iso) return '—';
  const d = new Date(iso);
  if (Number.isNaN(d.getTime())) return iso;
  return d.toLocaleString(undefined, {
    timeZone,
    month: 'short',
    day: 'numeric',
    hour: '2-digit',
    minute: '2-digit',
    second: '2-digit',
    hour12: false,
  });
}

/** How long ago an instant was: `12 s ago`, `5 min ago`, `3 h ago`, `2 d ago`. */
export function fmtAgo(iso: string | null | undefined, now = Date.now()): string {
  if (!iso) return '—';
  const s = Math.max(0, (now - new Date(iso).getTime()) / 1000);
  if (s < 60) return `${Math.round(s)} s ago`;
  if (s < 3600) return `${Math.round(s / 60)} min ago`;
  if (s < 86_400) return `${Math.round(s / 3600)} h ago`;
  return `${Math.round(s / 86_400)} d ago`;
}

/** Seconds between two instants, or null when either is missing. */
export function secondsBetween(
  from: string | null | undefined,
  to: string | null | undefined,
): number | null {
  if (!from || !to) return null;
  const d = (new Date(to).getTime() - new Date(from).getTime()) / 1000;
  return Number.isFinite(d) ? Math.max(0, d) : null;
}

/**
 * The distinguishing part of an id, for tables and chips: `…` and its last 8 characters. Request ids are
 * time-ordered (UUIDv7), so their first characters are the same for every request of the same minute,
 * while their tail is random. Ids of at most 9 characters are shown whole.
 */
export function shortId(id: string | null | undefined): string {
  if (!id) return '—';
  return id.length <= 9 ? id : `…${id.slice(-8)}`;
}

/** A machine-time axis tick: seconds, minutes or hours with at most one decimal. */
export function fmtAxisSeconds(v: number): string {
  if (v === 0) return '0';
  if (Math.abs(v) >= 3600) return `${fmtNumber(v / 3600, 1)} h`;
  if (Math.abs(v) >= 60) return `${fmtNumber(v / 60, 1)} min`;
  return `${fmtNumber(v, 1)} s`;
}

/** The local wall-clock time of an instant to the millisecond, for log lines. */
export function fmtClock(iso: string): string {
  const d = new Date(iso);
  if (Number.isNaN(d.getTime())) return iso;
  const pad = (n: number, w = 2) => String(n).padStart(w, '0');
  return `${pad(d.getHours())}:${pad(d.getMinutes())}:${pad(d.getSeconds())}.${pad(d.getMilliseconds(), 3)}`;
}

/** A latency axis tick: milliseconds with enough decimals to tell ticks apart, or seconds. */
export function fmtAxisLatency(seconds: number): string {
  if (seconds === 0) return '0';
  if (seconds >= 1) return `${fmtNumber(seconds, 2)} s`;
  const ms = seconds * 1000;
  return `${fmtNumber(ms, ms < 1 ? 3 : ms < 10 ? 2 : ms < 100 ? 1 : 0)} ms`;
}
