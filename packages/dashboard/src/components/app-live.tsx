import type { RunnerHistoryResponse, ServerlessApp } from '@hangar/client';
import { fmtNumber } from '../lib/format';
import { type LiveAppStats, RUNNER_STATES } from '../lib/prometheus';
import { Chart } from './chart';
import { PALETTE } from './chart-options';

const STATE_COLOR: Record<string, string> = {
  running: PALETTE[1]!,
  idle: PALETTE[0]!,
  setup: PALETTE[4]!,
  pending: PALETTE[2]!,
  draining: PALETTE[5]!,
  docker_pull: PALETTE[3]!,
  terminating: PALETTE[6]!,
};

/** Runner counts by state, the queue and in-flight requests of one app, as of the last poll. */
export function LiveFigures({ stats, queueSize }: { stats: LiveAppStats; queueSize: number | null }) {
  return (
    <div class="live">
      <ul class="runner-states" aria-label="Runners by state">
        {RUNNER_STATES.map((s) => (
          <li key={s} class={`state-pill ${(stats.runners[s] ?? 0) > 0 ? 'on' : ''}`}>
            <i style={{ background: STATE_COLOR[s] }} />
            {s} <b data-state={s}>{fmtNumber(stats.runners[s] ?? 0)}</b>
          </li>
        ))}
      </ul>
      <div class="live-numbers">
        <span>
          queue <b data-testid="queue-size">{queueSize === null ? '—' : fmtNumber(queueSize)}</b>
        </span>
        <span>
          in flight <b>{fmtNumber(stats.concurrent)}</b>
        </span>
        <span>
          req/min <b>{fmtNumber(stats.receivedPerMinute)}</b>
        </span>
      </div>
    </div>
  );
}

/** Runner counts by state over time, stacked. */
export function RunnerHistoryChart({
  history,
  height = 140,
}: {
  history: RunnerHistoryResponse;
  height?: number;
}) {
  const points = history.history;
  const xs = points.map((p) => Date.parse(p.timestamp) / 1000);
  const states = ['running', 'idle', 'pending', 'draining'] as const;
  const values = (s: (typeof states)[number]) => points.map((p) => p[s]);
  // Each count holds for its whole bucket: repeat the last one at the bucket's end so it gets a width.
  const last = xs.length - 1;
  if (last >= 0) xs.push(xs[last]! + (last > 0 ? xs[last]! - xs[last - 1]! : 60));
  return (
    <Chart
      label={`Runners by state (${history.aggregation} per ${history.timeframe})`}
      xs={xs}
      stacked
      stepped
      integer
      yFormat={(v) => fmtNumber(v, 1)}
      height={height}
      series={states.map((s) => {
        const v = values(s);
        return { label: s, color: STATE_COLOR[s]!, values: last >= 0 ? [...v, v[last]!] : v };
      })}
    />
  );
}

/** The scaling settings of an app in one line. */
export function AppSettings({ app }: { app: ServerlessApp }) {
  return (
    <dl class="settings">
      <div>
        <dt>machine</dt>
        <dd>{app.machine_type}</dd>
      </div>
      <div>
        <dt>concurrency</dt>
        <dd>
          {app.min_concurrency}–{app.max_concurrency}
        </dd>
      </div>
      <div>
        <dt>keep-alive</dt>
        <dd>{app.keep_alive} s</dd>
      </div>
      <div>
        <dt>timeout</dt>
        <dd>{app.request_timeout} s</dd>
      </div>
      <div>
        <dt>auth</dt>
        <dd>{app.auth_mode}</dd>
      </div>
    </dl>
  );
}
