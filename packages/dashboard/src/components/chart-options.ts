import uPlot from 'uplot';

/** One line or stacked layer of a chart. */
export interface ChartSeries {
  label: string;
  color: string;
  values: (number | null)[];
  /** Formats this series' values in the legend (defaults to the chart's y format). */
  format?: (v: number) => string;
}

/** Colours that read on both the light and the dark background. */
export const PALETTE = [
  '#6366f1',
  '#10b981',
  '#f59e0b',
  '#ef4444',
  '#06b6d4',
  '#a855f7',
  '#ec4899',
  '#84cc16',
];

/** Cumulative sums of the layers, bottom layer first, for stacked drawing. */
export function stack(layers: (number | null)[][]): number[][] {
  const out: number[][] = [];
  let acc: number[] = [];
  for (const layer of layers) {
    acc = layer.map((v, i) => (acc[i] ?? 0) + (v ?? 0));
    out.push(acc);
  }
  return out;
}

/** How many buckets hold at least one value. */
export function pointCount(xs: number[], layers: (number | null)[][]): number {
  return xs.filter((_, i) => layers.some((l) => l[i] !== null && l[i] !== undefined)).length;
}

function cssVar(name: string): string {
  return getComputedStyle(document.documentElement).getPropertyValue(name).trim() || '#888';
}

function alpha(hex: string, a: number): string {
  const n = Number.parseInt(hex.slice(1), 16);
  return `rgba(${(n >> 16) & 255},${(n >> 8) & 255},${n & 255},${a})`;
}

interface OptionsInput {
  series: { label: string; color: string; format?: (v: number) => string }[];
  stacked: boolean;
  bars: boolean;
  height: number;
  timeZone: string | undefined;
  yFormat: ((v: number) => string) | undefined;
  /** Counts: the y axis only ticks on whole numbers. */
  integer: boolean;
  /** Values hold for a whole bucket: draw steps, not slopes. */
  stepped: boolean;
  /** Small charts drop the legend (the surrounding card names the series). */
  legend: boolean;
  /** The unstacked values, for the legend of a stacked chart. */
  raw: () => (number | null)[][];
}

/** uPlot options for a time series chart in the current theme. */
export function chartOptions(input: OptionsInput): Omit<uPlot.Options, 'width'> {
  const { stacked, bars, height, timeZone, yFormat } = input;
  const fg = cssVar('--fg-muted');
  const grid = cssVar('--grid');
  const fmt = yFormat ?? ((v: number) => String(Math.round(v * 100) / 100));
  const path = bars
    ? uPlot.paths.bars?.({ size: [0.7, 48], gap: 1 })
    : input.stepped
      ? uPlot.paths.stepped?.({ align: 1 })
      : undefined;
  const series: uPlot.Series[] = input.series.map((s, i) => ({
    label: s.label,
    stroke: s.color,
    width: bars ? 0 : 2,
    fill: stacked || bars ? (bars ? s.color : alpha(s.color, 0.4)) : undefined,
    paths: path,
    points: { show: !bars && !stacked, size: 6 },
    spanGaps: false,
    value: (_u, v, _si, idx) => {
      const shown = stacked && idx !== null ? input.raw()[i]?.[idx] : v;
      return shown === null || shown === undefined ? '—' : (s.format ?? fmt)(shown);
    },
  }));
  return {
    height,
    // Higher layers are drawn first so each lower layer paints over the part it owns.
    series: [{}, ...(stacked ? [...series].reverse() : series)],
    bands: stacked && !bars ? stackBands(series.length) : undefined,
    tzDate: timeZone ? (ts) => uPlot.tzDate(new Date(ts * 1000), timeZone) : undefined,
    cursor: { points: { size: 6 }, drag: { x: false, y: false } },
    legend: { show: input.legend, live: true },
    scales: {
      x: { time: true, range: bars ? padRange : undefined },
      y: { range: (_u, _min, max) => [0, max > 0 ? max * 1.1 : 1] },
    },
    axes: [
      { stroke: fg, grid: { stroke: grid, width: 1 }, ticks: { stroke: grid } },
      {
        stroke: fg,
        grid: { stroke: grid, width: 1 },
        ticks: { stroke: grid },
        size: 72,
        incrs: input.integer ? INTEGER_STEPS : undefined,
        values: (_u, splits) => splits.map((v) => fmt(v)),
      },
    ],
  };
}

const INTEGER_STEPS = [1, 2, 5, 10, 20, 25, 50, 100, 200, 250, 500, 1000, 2000, 5000, 10_000, 1e5, 1e6, 1e7];

/**
 * Bands between consecutive layers of a stack (series are ordered top layer first), so each layer fills
 * only its own slice instead of down to zero through the layers below.
 */
function stackBands(n: number): uPlot.Band[] {
  const bands: uPlot.Band[] = [];
  for (let k = 1; k < n; k++) bands.push({ series: [n - k, n - k + 1] });
  return bands;
}

/** Half a bucket of room on each side so the first and last bars are not cut. */
function padRange(u: uPlot, min: number, max: number): uPlot.Range.MinMax {
  const xs = u.data[0];
  const step = xs.length > 1 ? xs[1]! - xs[0]! : 60;
  return [min - step / 2, max + step / 2];
}
