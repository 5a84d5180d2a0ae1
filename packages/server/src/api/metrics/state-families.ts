import type { AppLiveStats } from '@hangar/core';
import { STATE_BUCKETS_S } from '../../runners/state-histogram.js';
import { formatLe, type GaugeFamily, type Sample } from '../../telemetry/prometheus.js';

/**
 * `hangar_runner_state_seconds`: a histogram of the time runners of each app of `owner` spent in a state,
 * observed as they left it, since the server started (`_bucket` cumulative with `le`, `_sum`, `_count`).
 */
export function buildStateTimeFamilies(owner: string, stats: readonly AppLiveStats[]): GaugeFamily[] {
  const live = stats.filter((s) => s.owner === owner).sort((a, b) => a.app.localeCompare(b.app));
  const samples: Sample[] = [];
  for (const s of live) {
    const application = ['application', `${owner}/${s.app}`] as const;
    const states = Object.entries(s.stateSeconds ?? {}).sort(([a], [b]) => a.localeCompare(b));
    for (const [state, o] of states) {
      const labels = [application, ['state', state] as const];
      let cumulative = 0;
      [...STATE_BUCKETS_S, Number.POSITIVE_INFINITY].forEach((bound, i) => {
        cumulative += o.buckets[i] ?? 0;
        samples.push({ suffix: '_bucket', labels: [...labels, ['le', formatLe(bound)]], value: cumulative });
      });
      samples.push({ suffix: '_sum', labels, value: Math.round(o.sum * 1000) / 1000 });
      samples.push({ suffix: '_count', labels, value: o.count });
    }
  }
  return [
    {
      name: 'hangar_runner_state_seconds',
      help: 'Seconds runners spent in a state (fal runner states in lowercase), observed as they left it',
      type: 'histogram',
      samples,
    },
  ];
}
