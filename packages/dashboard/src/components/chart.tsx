import { useEffect, useRef } from 'preact/hooks';
import uPlot from 'uplot';
import 'uplot/dist/uPlot.min.css';
import { useTheme } from '../lib/theme';
import { type ChartSeries, chartOptions, pointCount, stack } from './chart-options';

/** Props of a time-series chart. */
export interface ChartProps {
  /** Unix seconds of each bucket, ascending. */
  xs: number[];
  series: ChartSeries[];
  stacked?: boolean;
  bars?: boolean;
  height?: number;
  /** IANA zone the time axis is drawn in. */
  timeZone?: string;
  yFormat?: (v: number) => string;
  /** Counts: whole-number ticks only. */
  integer?: boolean;
  /** Values hold for a whole bucket: steps instead of slopes. */
  stepped?: boolean;
  label: string;
}

/**
 * A uPlot chart sized to its container. It is rebuilt only when its shape changes (series, theme, zone);
 * new data alone is pushed with `setData`, so a polled chart does not flicker.
 */
export function Chart(props: ChartProps) {
  const host = useRef<HTMLDivElement>(null);
  const plot = useRef<uPlot | null>(null);
  const theme = useTheme();
  const {
    xs,
    series,
    stacked = false,
    bars = false,
    height = 220,
    timeZone,
    yFormat,
    integer = false,
    stepped = false,
  } = props;
  const legend = height >= 150;
  const raw = series.map((s) => s.values);
  // Stacked layers are drawn top first (see chartOptions), so their data is reversed to match.
  const data: uPlot.AlignedData = [xs, ...(stacked ? stack(raw).reverse() : raw)];
  const shape = JSON.stringify([
    series.map((s) => [s.label, s.color]),
    stacked,
    bars,
    height,
    timeZone,
    theme,
    integer,
    stepped,
  ]);

  useEffect(() => {
    const el = host.current;
    if (!el) return;
    const opts = chartOptions({
      series,
      stacked,
      bars,
      height,
      timeZone,
      yFormat,
      integer,
      stepped,
      legend,
      raw: () => rawRef.current,
    });
    const u = new uPlot({ ...opts, width: Math.max(200, el.clientWidth) }, data, el);
    plot.current = u;
    const ro = new ResizeObserver(() => u.setSize({ width: Math.max(200, el.clientWidth), height }));
    ro.observe(el);
    return () => {
      ro.disconnect();
      u.destroy();
      plot.current = null;
    };
  }, [shape]);

  const rawRef = useRef(raw);
  rawRef.current = raw;
  useEffect(() => {
    plot.current?.setData(data);
  });

  return (
    <figure class="chart" aria-label={props.label} data-points={pointCount(xs, raw)}>
      <figcaption>{props.label}</figcaption>
      <div ref={host} class="chart-canvas" />
      {xs.length === 0 && <div class="chart-empty">No data in this window</div>}
    </figure>
  );
}
