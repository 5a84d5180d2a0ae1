// Hand-written Prometheus text exposition (format 0.0.4): fal's metric families are all gauges with fixed
// labels, so a small writer is both faster and easier to keep byte-exact than a metrics registry.

/** The `Content-Type` of the text exposition format. */
export const PROMETHEUS_CONTENT_TYPE = 'text/plain; version=0.0.4; charset=utf-8';

/**
 * Upper bounds (seconds) of `fal_app_request_latency` buckets, cumulative, followed by `+Inf`. fal
 * documents only `1.0` and `+Inf`; the rest spread from interactive to long-running model calls.
 */
export const LATENCY_BUCKETS_S: readonly number[] = [0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120, 300, 600];

/** One sample: label pairs in output order and the value. */
export interface Sample {
  labels: readonly (readonly [string, string])[];
  value: number;
  /** Appended to the family name (a histogram's `_bucket`, `_sum`, `_count`). */
  suffix?: string;
}

/** A gauge family (or, with `type`, a counter) with its help text and samples. */
export interface GaugeFamily {
  name: string;
  help: string;
  samples: readonly Sample[];
  /** `gauge` unless set. */
  type?: 'gauge' | 'counter' | 'histogram';
}

/** Escapes a label value: backslash, double quote and line feed, as the format requires. */
export function escapeLabelValue(v: string): string {
  return v.replace(/[\\"\n]/g, (c) => (c === '\n' ? '\\n' : `\\${c}`));
}

/** Escapes HELP text: backslash and line feed. */
export function escapeHelp(v: string): string {
  return v.replace(/[\\\n]/g, (c) => (c === '\n' ? '\\n' : '\\\\'));
}

/** Formats a sample value (integers plainly, special floats as Prometheus spells them). */
export function formatValue(n: number): string {
  if (Number.isNaN(n)) return 'NaN';
  if (n === Number.POSITIVE_INFINITY) return '+Inf';
  if (n === Number.NEGATIVE_INFINITY) return '-Inf';
  return String(n);
}

/** Formats a bucket bound the way fal's example does (`1.0`, `2.5`, `+Inf`). */
export function formatLe(bound: number): string {
  if (bound === Number.POSITIVE_INFINITY) return '+Inf';
  return Number.isInteger(bound) ? bound.toFixed(1) : String(bound);
}

/** Renders gauge families; each gets HELP and TYPE lines even when it has no samples. */
export function renderGauges(families: readonly GaugeFamily[]): string {
  const out: string[] = [];
  for (const f of families) {
    out.push(`# HELP ${f.name} ${escapeHelp(f.help)}`, `# TYPE ${f.name} ${f.type ?? 'gauge'}`);
    for (const s of f.samples) {
      const labels = s.labels.map(([k, v]) => `${k}="${escapeLabelValue(v)}"`).join(',');
      out.push(`${f.name}${s.suffix ?? ''}${labels ? `{${labels}}` : ''} ${formatValue(s.value)}`);
    }
  }
  return `${out.join('\n')}\n`;
}
