import type { UsageRow } from '@hangar/client';
import { Chart } from '../components/chart';
import { PALETTE } from '../components/chart-options';
import { Empty, ErrorBox, Field, Loading, PageHeader, Select } from '../components/ui';
import { type WindowChoice, WindowControls } from '../components/window-controls';
import { fmtAxisSeconds, fmtDuration, fmtMoney, fmtNumber } from '../lib/format';
import { useAsync } from '../lib/hooks';
import { setQuery, useLocation } from '../lib/router';
import { type Bucketed, usageLayers } from '../lib/series';
import { useSession } from '../lib/session';
import { browserTimeZone, windowOf } from '../lib/time';

const MAX_PAGES = 20;

/** Machine-seconds and cost over time by app or machine type, with the priced summary. */
export function UsagePage() {
  const { client } = useSession();
  const { query } = useLocation();
  const win: WindowChoice = {
    range: query.get('range') ?? '24h',
    timeframe: (query.get('timeframe') ?? 'auto') as WindowChoice['timeframe'],
    timeZone: query.get('tz') ?? browserTimeZone(),
  };
  const groupBy = query.get('by') === 'machine_type' ? 'machine_type' : 'app';

  const usage = useAsync(async () => {
    const series: Bucketed<UsageRow>[] = [];
    let summary: UsageRow[] = [];
    let cursor: string | undefined;
    for (let p = 0; p < MAX_PAGES; p++) {
      const page = await client.usage.get({
        ...windowOf(win.range),
        timezone: win.timeZone,
        timeframe: win.timeframe === 'auto' ? undefined : win.timeframe,
        expand: ['time_series', 'summary'],
        cursor,
      });
      series.push(...(page.time_series ?? []));
      if (page.summary) summary = summary.concat(page.summary);
      if (!page.has_more || !page.next_cursor) break;
      cursor = page.next_cursor;
    }
    return { series, summary };
  }, [client, win.range, win.timeframe, win.timeZone]);

  const set = (w: WindowChoice) =>
    setQuery({ range: w.range, timeframe: w.timeframe === 'auto' ? undefined : w.timeframe, tz: w.timeZone });
  const d = usage.data;
  const seconds = d && usageLayers(d.series, groupBy, 'quantity');
  const cost = d && usageLayers(d.series, groupBy, 'cost_total');
  const currency = d?.summary[0]?.currency ?? 'USD';
  // One colour per group on both charts, whatever each chart's ranking.
  const names = [
    ...new Set([...(seconds?.layers ?? []), ...(cost?.layers ?? [])].map((l) => l.label)),
  ].sort();
  const color = (label: string) => PALETTE[names.indexOf(label) % PALETTE.length]!;
  return (
    <div class="page">
      <PageHeader title="Usage" sub="Machine time of your apps and what it costs (ADMIN key)." />
      <div class="filters">
        <WindowControls value={win} onChange={set} />
        <Field label="Group by">
          <Select
            name="by"
            value={groupBy}
            onChange={(by) => setQuery({ by: by === 'app' ? undefined : by })}
            options={[
              { value: 'app', label: 'App' },
              { value: 'machine_type', label: 'Machine type' },
            ]}
          />
        </Field>
        <button type="button" class="btn" onClick={usage.reload}>
          Refresh
        </button>
      </div>
      {usage.error ? <ErrorBox error={usage.error} onRetry={usage.reload} /> : null}
      {!d && !usage.error && <Loading />}
      {seconds && cost && (
        <div class="chart-grid">
          <Chart
            label="Machine time"
            xs={seconds.xs}
            stacked
            bars
            timeZone={win.timeZone}
            yFormat={fmtAxisSeconds}
            series={seconds.layers.map((l) => ({
              label: l.label,
              color: color(l.label),
              values: l.values,
              format: fmtDuration,
            }))}
          />
          <Chart
            label={`Cost (${currency})`}
            xs={cost.xs}
            stacked
            bars
            timeZone={win.timeZone}
            yFormat={(v) => fmtMoney(v, currency)}
            series={cost.layers.map((l) => ({ label: l.label, color: color(l.label), values: l.values }))}
          />
        </div>
      )}
      {d && <CostTable rows={d.summary} />}
    </div>
  );
}

function CostTable({ rows }: { rows: UsageRow[] }) {
  if (rows.length === 0) return <Empty>No usage in this window.</Empty>;
  const sorted = [...rows].sort((a, b) => b.cost_total - a.cost_total);
  const totals = new Map<string, { seconds: number; total: number; discount: number }>();
  for (const r of rows) {
    const t = totals.get(r.currency) ?? { seconds: 0, total: 0, discount: 0 };
    t.seconds += r.quantity;
    t.total += r.cost_total;
    t.discount += r.cost_discount;
    totals.set(r.currency, t);
  }
  return (
    <section class="card">
      <header class="card-head">
        <h2>Cost by app and machine type</h2>
      </header>
      <div class="table-wrap">
        <table class="table" aria-label="Cost">
          <thead>
            <tr>
              <th>App</th>
              <th>Machine</th>
              <th class="num">Machine time</th>
              <th class="num">Unit price</th>
              <th class="num">Discount</th>
              <th class="num">Subtotal</th>
              <th class="num">Total</th>
            </tr>
          </thead>
          <tbody>
            {sorted.map((r, i) => (
              <tr key={`${r.app}|${r.machine_type}|${r.is_surge}|${r.percent_discount}|${i}`}>
                <td>{r.app ?? '(unattributed)'}</td>
                <td>
                  {r.machine_type} {r.is_surge && <span class="badge warn">surge</span>}
                </td>
                <td class="num" title={`${r.quantity} s`}>
                  {fmtDuration(r.quantity)}
                </td>
                <td class="num">
                  {fmtMoney(r.unit_price, r.currency)}/{r.unit === 'second' ? 's' : r.unit}
                </td>
                <td class="num">{r.percent_discount ? `${fmtNumber(r.percent_discount)}%` : '—'}</td>
                <td class="num">{fmtMoney(r.cost_subtotal, r.currency)}</td>
                <td class="num strong">{fmtMoney(r.cost_total, r.currency)}</td>
              </tr>
            ))}
          </tbody>
          <tfoot>
            {[...totals].map(([currency, t]) => (
              <tr key={currency}>
                <td colSpan={2}>Total ({currency})</td>
                <td class="num">{fmtDuration(t.seconds)}</td>
                <td />
                <td class="num">{t.discount ? `−${fmtMoney(t.discount, currency)}` : '—'}</td>
                <td />
                <td class="num strong" data-testid="cost-total">
                  {fmtMoney(t.total, currency)}
                </td>
              </tr>
            ))}
          </tfoot>
        </table>
      </div>
    </section>
  );
}
