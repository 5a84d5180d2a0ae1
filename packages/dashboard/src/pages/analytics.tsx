import type { AnalyticsMetric, AnalyticsRecord } from '@hangar/client';
import { Chart } from '../components/chart';
import { PALETTE } from '../components/chart-options';
import { Empty, ErrorBox, Field, Loading, PageHeader, Select } from '../components/ui';
import { type WindowChoice, WindowControls } from '../components/window-controls';
import { endpointChoices, useApps } from '../lib/apps';
import { fmtAxisLatency, fmtDuration, fmtNumber } from '../lib/format';
import { useAsync } from '../lib/hooks';
import { setQuery, useLocation } from '../lib/router';
import { type Bucketed, errorRate, mergeAnalytics } from '../lib/series';
import { useSession } from '../lib/session';
import { browserTimeZone, windowOf } from '../lib/time';

const METRICS: AnalyticsMetric[] = [
  'request_count',
  'success_count',
  'user_error_count',
  'error_count',
  'p50_prepare_duration',
  'p90_prepare_duration',
  'p99_prepare_duration',
  'p50_duration',
  'p90_duration',
  'p99_duration',
  'cold_boot_count',
  'p50_cold_boot_duration',
];
const MAX_PAGES = 20;
const [C0, C1, C2, C3] = PALETTE as [string, string, string, string];

/** Request volume, error rates, queue and execution latency percentiles and cold starts over time. */
export function AnalyticsPage() {
  const { client } = useSession();
  const { query } = useLocation();
  const apps = useApps();
  const endpoint = query.get('endpoint') ?? '';
  const win: WindowChoice = {
    range: query.get('range') ?? '24h',
    timeframe: (query.get('timeframe') ?? 'auto') as WindowChoice['timeframe'],
    timeZone: query.get('tz') ?? browserTimeZone(),
  };
  const ids = endpoint ? [endpoint] : (apps.data ?? []).map((a) => a.endpoint_id).slice(0, 50);

  const data = useAsync(async () => {
    if (ids.length === 0) return null;
    const series: Bucketed<AnalyticsRecord>[] = [];
    let summary: AnalyticsRecord[] = [];
    let cursor: string | undefined;
    for (let p = 0; p < MAX_PAGES; p++) {
      const page = await client.analytics.get({
        endpoint_id: ids,
        ...windowOf(win.range),
        timezone: win.timeZone,
        timeframe: win.timeframe === 'auto' ? undefined : win.timeframe,
        expand: ['time_series', 'summary', ...METRICS],
        cursor,
      });
      series.push(...(page.time_series ?? []));
      if (page.summary) summary = summary.concat(page.summary);
      if (!page.has_more || !page.next_cursor) break;
      cursor = page.next_cursor;
    }
    return { merged: mergeAnalytics(series), summary };
  }, [client, ids.join(','), win.range, win.timeframe, win.timeZone]);

  const set = (w: WindowChoice) =>
    setQuery({ range: w.range, timeframe: w.timeframe === 'auto' ? undefined : w.timeframe, tz: w.timeZone });
  const m = data.data?.merged;
  const chart = { timeZone: win.timeZone, height: 200 };
  const secs = fmtAxisLatency;
  return (
    <div class="page">
      <PageHeader title="Analytics" sub="Traffic, errors and latency of your endpoints, from every caller." />
      <div class="filters">
        <Field label="Endpoint" grow>
          <Select
            name="endpoint"
            value={endpoint}
            onChange={(v) => setQuery({ endpoint: v })}
            options={[{ value: '', label: 'All apps' }, ...endpointChoices(apps.data ?? [])]}
          />
        </Field>
        <WindowControls value={win} onChange={set} />
        <button type="button" class="btn" onClick={data.reload}>
          Refresh
        </button>
      </div>
      {apps.error ? <ErrorBox error={apps.error} /> : null}
      {data.error ? <ErrorBox error={data.error} onRetry={data.reload} /> : null}
      {data.data === undefined && !data.error && <Loading />}
      {data.data === null && <Empty>No endpoints to analyse yet.</Empty>}
      {m && (
        <div class="chart-grid">
          <Chart
            {...chart}
            label="Requests"
            xs={m.xs}
            stacked
            bars
            integer
            yFormat={(v) => fmtNumber(v, 0)}
            series={[
              { label: 'success', color: C1, values: m.get('success_count') },
              { label: '4xx', color: C2, values: m.get('user_error_count') },
              { label: '5xx', color: C3, values: m.get('error_count') },
            ]}
          />
          <Chart
            {...chart}
            label="Error rate"
            xs={m.xs}
            yFormat={(v) => `${fmtNumber(v, 1)}%`}
            series={[{ label: 'errors (4xx + 5xx)', color: C3, values: errorRate(m) }]}
          />
          <Chart
            {...chart}
            label="Queue time (prepare)"
            xs={m.xs}
            yFormat={secs}
            series={[
              { label: 'p50', color: C1, values: m.get('p50_prepare_duration') },
              { label: 'p90', color: C2, values: m.get('p90_prepare_duration') },
              { label: 'p99', color: C3, values: m.get('p99_prepare_duration') },
            ]}
          />
          <Chart
            {...chart}
            label="Execution time"
            xs={m.xs}
            yFormat={secs}
            series={[
              { label: 'p50', color: C1, values: m.get('p50_duration') },
              { label: 'p90', color: C2, values: m.get('p90_duration') },
              { label: 'p99', color: C3, values: m.get('p99_duration') },
            ]}
          />
          <Chart
            {...chart}
            label="Cold starts"
            xs={m.xs}
            bars
            integer
            yFormat={(v) => fmtNumber(v, 0)}
            series={[{ label: 'cold starts', color: C0, values: m.get('cold_boot_count') }]}
          />
        </div>
      )}
      {data.data && <SummaryTable rows={data.data.summary} />}
      {ids.length > 1 && m && (
        <p class="muted small">
          Several endpoints are merged: counts are summed and percentiles are weighted by request count. Pick
          one endpoint for its exact percentiles.
        </p>
      )}
    </div>
  );
}

function SummaryTable({ rows }: { rows: AnalyticsRecord[] }) {
  if (rows.length === 0) return <Empty>No requests in this window.</Empty>;
  const rate = (r: AnalyticsRecord) =>
    r.request_count
      ? `${fmtNumber((100 * ((r.error_count ?? 0) + (r.user_error_count ?? 0))) / r.request_count, 1)}%`
      : '—';
  return (
    <section class="card">
      <header class="card-head">
        <h2>By endpoint</h2>
      </header>
      <div class="table-wrap">
        <table class="table" aria-label="Analytics summary">
          <thead>
            <tr>
              <th>Endpoint</th>
              <th class="num">Requests</th>
              <th class="num">Errors</th>
              <th class="num">Queue p50 / p99</th>
              <th class="num">Exec p50 / p90 / p99</th>
              <th class="num">Cold starts</th>
            </tr>
          </thead>
          <tbody>
            {rows.map((r) => (
              <tr key={r.endpoint_id}>
                <td class="mono">{r.endpoint_id}</td>
                <td class="num">{fmtNumber(r.request_count, 0)}</td>
                <td class="num">{rate(r)}</td>
                <td class="num">
                  {fmtDuration(r.p50_prepare_duration)} / {fmtDuration(r.p99_prepare_duration)}
                </td>
                <td class="num">
                  {fmtDuration(r.p50_duration)} / {fmtDuration(r.p90_duration)} /{' '}
                  {fmtDuration(r.p99_duration)}
                </td>
                <td class="num">
                  {fmtNumber(r.cold_boot_count, 0)}
                  {r.p50_cold_boot_duration ? ` (p50 ${fmtDuration(r.p50_cold_boot_duration)})` : ''}
                </td>
              </tr>
            ))}
          </tbody>
        </table>
      </div>
    </section>
  );
}
