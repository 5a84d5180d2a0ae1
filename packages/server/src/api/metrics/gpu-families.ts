import type { AppLiveStats } from '@hangar/core';
import type { GaugeFamily, Sample } from '../../telemetry/prometheus.js';

const MIB = 1024 * 1024;

/**
 * Per-runner GPU gauges of `owner`'s apps, from the last sample of each card a runner holds (cards are
 * never shared, so a card's usage is its runner's): memory in use in bytes and utilisation as 0–1.
 */
export function buildGpuFamilies(owner: string, stats: readonly AppLiveStats[]): GaugeFamily[] {
  const rows = stats
    .filter((s) => s.owner === owner)
    .sort((a, b) => a.app.localeCompare(b.app))
    .flatMap((s) =>
      [...(s.gpus ?? [])]
        .sort((a, b) => a.runnerId.localeCompare(b.runnerId) || a.uuid.localeCompare(b.uuid))
        .map((g) => ({
          labels: [
            ['application', `${owner}/${s.app}`],
            ['runner_id', g.runnerId],
            ['gpu', g.uuid],
          ] as const,
          g,
        })),
    );
  const memory: Sample[] = rows.map(({ labels, g }) => ({ labels, value: g.memoryUsedMb * MIB }));
  const utilization: Sample[] = rows.map(({ labels, g }) => ({ labels, value: g.utilizationPct / 100 }));
  return [
    {
      name: 'hangar_runner_gpu_memory_bytes',
      help: 'GPU memory in use on each card a runner holds, in bytes, as last sampled',
      samples: memory,
    },
    {
      name: 'hangar_runner_gpu_utilization_ratio',
      help: 'Utilisation (0 to 1) of each card a runner holds, as last sampled',
      samples: utilization,
    },
  ];
}
