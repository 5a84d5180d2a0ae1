import type { AppLiveStats, RunnerState } from '@hangar/core';
import { formatLe, type GaugeFamily, LATENCY_BUCKETS_S, type Sample } from '../../telemetry/prometheus.js';
import type { WindowSnapshot } from './request-window.js';

/** Runner states reported in `hangar_app_runners` (terminated runners are gone, so never reported). */
export const REPORTED_STATES: readonly RunnerState[] = [
  'pending',
  'docker_pull',
  'setup',
  'idle',
  'running',
  'draining',
  'terminating',
];

/** The three states fal documents for `fal_app_runners`. */
export const FAL_RUNNER_STATES = ['idle', 'running', 'pending'] as const;

/**
 * Our state as fal counts it. fal: idle (warm, waiting), running (processing), pending (cold start in
 * progress). Booting (`pending`), pulling an image (`docker_pull`) and running the app's setup (`setup`)
 * are a cold start. A draining runner is finishing its in-flight requests (one with none left stops at
 * once), so it is processing; a terminating one still holds its machine until its process is gone.
 */
export const FAL_STATE_OF: Record<Exclude<RunnerState, 'terminated'>, (typeof FAL_RUNNER_STATES)[number]> = {
  pending: 'pending',
  docker_pull: 'pending',
  setup: 'pending',
  idle: 'idle',
  running: 'running',
  draining: 'running',
  terminating: 'running',
};

const SEP = '\u0000';

/** Builds fal's six `fal_app_*` families and `hangar_app_runners` for one owner from live stats and last-minute counts. */
export function buildAppFamilies(
  owner: string,
  stats: readonly AppLiveStats[],
  snap: WindowSnapshot,
  machineLabel: (machineType: string) => string,
): GaugeFamily[] {
  const live = [...stats].filter((s) => s.owner === owner).sort((a, b) => a.app.localeCompare(b.app));
  const application = (app: string) => ['application', `${owner}/${app}`] as const;
  const sorted = <V>(m: Map<string, V>) => [...m].sort(([a], [b]) => a.localeCompare(b));

  const runnerSamples = (states: readonly string[], count: (s: AppLiveStats, state: string) => number) =>
    live.flatMap((s) =>
      states.map((state) => ({
        labels: [
          application(s.app),
          ['machine_type', machineLabel(s.machineType)],
          ['state', state],
        ] as const,
        value: count(s, state),
      })),
    );
  const falCount = (s: AppLiveStats, falState: string) =>
    REPORTED_STATES.reduce(
      (n, st) => n + (FAL_STATE_OF[st as keyof typeof FAL_STATE_OF] === falState ? (s.runners[st] ?? 0) : 0),
      0,
    );
  const runners = runnerSamples(FAL_RUNNER_STATES, falCount);
  const exact = runnerSamples(REPORTED_STATES, (s, st) => s.runners[st as RunnerState] ?? 0);
  const completed: Sample[] = sorted(snap.completed).flatMap(([app, byKey]) =>
    sorted(byKey).map(([key, n]) => {
      const [method = '', status = ''] = key.split(SEP);
      return { labels: [application(app), ['method', method], ['status', status]] as const, value: n };
    }),
  );
  const received: Sample[] = sorted(snap.received).flatMap(([app, byMethod]) =>
    sorted(byMethod).map(([method, n]) => ({
      labels: [application(app), ['method', method]] as const,
      value: n,
    })),
  );
  const latency: Sample[] = sorted(snap.latency).flatMap(([app, counts]) => {
    let cumulative = 0;
    return [...LATENCY_BUCKETS_S, Number.POSITIVE_INFINITY].map((bound, i) => {
      cumulative += counts[i] ?? 0;
      return { labels: [application(app), ['le', formatLe(bound)]] as const, value: cumulative };
    });
  });

  return [
    { name: 'fal_app_runners', help: 'Number of fal app runners', samples: runners },
    {
      name: 'fal_app_queue_size',
      help: 'Current size of the fal app queue',
      samples: live.map((s) => ({ labels: [application(s.app)], value: s.queueSize })),
    },
    {
      name: 'fal_app_concurrent_requests',
      help: 'Current number of concurrent requests being processed',
      samples: live.map((s) => ({ labels: [application(s.app)], value: s.inFlight })),
    },
    {
      name: 'fal_app_requests_completed',
      help: 'Number of requests completed in the last minute',
      samples: completed,
    },
    {
      name: 'fal_app_requests_received',
      help: 'Number of requests received in the last minute',
      samples: received,
    },
    {
      name: 'fal_app_request_latency',
      help: 'Number of requests completed, bucketed by latency in seconds',
      samples: latency,
    },
    {
      name: 'hangar_app_runners',
      help: 'Number of runners by exact Hangar state (fal runner states in lowercase)',
      samples: exact,
    },
  ];
}
