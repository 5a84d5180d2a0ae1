import type { GpuUsage } from './runner-port.js';

/**
 * One GPU's usage over a runner's life, folded from the driver's samples (runner history): the last
 * sample, the peak memory and the mean utilisation.
 */
export interface RunnerGpuSummary {
  uuid: string;
  /** Samples folded in. */
  samples: number;
  /** When the last sample was taken (epoch ms). */
  lastAt: number;
  /** Memory in use at the last sample, and the most seen in any sample (MiB). */
  memoryUsedMb: number;
  memoryPeakMb: number;
  /** Utilisation at the last sample, and the mean over all samples (%). */
  utilizationPct: number;
  utilizationAvgPct: number;
}

/** Folds one sample of a runner's GPUs into its summaries (a card seen for the first time is added). */
export function foldGpuSample(
  prev: readonly RunnerGpuSummary[],
  usage: readonly GpuUsage[],
  at: number,
): RunnerGpuSummary[] {
  const out = prev.map((g) => ({ ...g }));
  for (const u of usage) {
    const g = out.find((x) => x.uuid === u.uuid);
    if (!g) {
      out.push({
        uuid: u.uuid,
        samples: 1,
        lastAt: at,
        memoryUsedMb: u.memoryUsedMb,
        memoryPeakMb: u.memoryUsedMb,
        utilizationPct: u.utilizationPct,
        utilizationAvgPct: u.utilizationPct,
      });
      continue;
    }
    g.utilizationAvgPct = (g.utilizationAvgPct * g.samples + u.utilizationPct) / (g.samples + 1);
    g.samples += 1;
    g.lastAt = at;
    g.memoryUsedMb = u.memoryUsedMb;
    g.memoryPeakMb = Math.max(g.memoryPeakMb, u.memoryUsedMb);
    g.utilizationPct = u.utilizationPct;
  }
  return out;
}
