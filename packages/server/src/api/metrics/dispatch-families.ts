import { type AppLiveStats, RETRY_CONDITIONS } from '@hangar/core';
import type { GaugeFamily, Sample } from '../../telemetry/prometheus.js';

/**
 * Hangar's own counters of the dispatcher, beside fal's families: retries per condition and runner-hint
 * routing hits and misses, per app of `owner`, since the server started.
 */
export function buildDispatchFamilies(owner: string, stats: readonly AppLiveStats[]): GaugeFamily[] {
  const live = stats.filter((s) => s.owner === owner).sort((a, b) => a.app.localeCompare(b.app));
  const retries: Sample[] = live.flatMap((s) =>
    RETRY_CONDITIONS.map((condition) => ({
      labels: [
        ['application', `${owner}/${s.app}`],
        ['condition', condition],
      ] as const,
      value: s.retries?.[condition] ?? 0,
    })),
  );
  const hints: Sample[] = live.flatMap((s) => [
    {
      labels: [
        ['application', `${owner}/${s.app}`],
        ['result', 'hit'],
      ] as const,
      value: s.hintHits ?? 0,
    },
    {
      labels: [
        ['application', `${owner}/${s.app}`],
        ['result', 'miss'],
      ] as const,
      value: s.hintMisses ?? 0,
    },
  ]);
  return [
    {
      name: 'hangar_app_request_retries_total',
      help: 'Retries of queued requests since the server started, by fal retry condition',
      type: 'counter',
      samples: retries,
    },
    {
      name: 'hangar_app_runner_hint_routing_total',
      help: 'Attempts of requests with X-Fal-Runner-Hint, started on a runner with that hint (hit) or not (miss)',
      type: 'counter',
      samples: hints,
    },
  ];
}
