import type { GpuUsage } from '@hangar/core';
import { runNvidiaSmi } from './inventory.js';

/** How long one `nvidia-smi` answer serves every runner's sample. */
const SAMPLE_TTL_MS = 1000;

/** Reads each card's memory in use and utilisation, once per second at most whoever asks. */
export interface GpuSampler {
  /** Usage of the cards with these UUIDs (those nvidia-smi reported). */
  sample(uuids: readonly string[]): Promise<GpuUsage[]>;
}

export function createGpuSampler(searchPath: string, now: () => number = Date.now): GpuSampler {
  let last: { at: number; usage: Promise<Map<string, GpuUsage>> } | null = null;
  const read = async () => {
    const out = await runNvidiaSmi(
      ['--query-gpu=uuid,memory.used,utilization.gpu', '--format=csv,noheader,nounits'],
      searchPath,
    );
    return parseUsage(out ?? '');
  };
  return {
    async sample(uuids) {
      if (last === null || now() - last.at >= SAMPLE_TTL_MS) last = { at: now(), usage: read() };
      const usage = await last.usage;
      return uuids.flatMap((u) => usage.get(u) ?? []);
    },
  };
}

/** Parses `uuid, memory.used (MiB), utilization.gpu (%)` lines; `[N/A]` values count as 0. */
export function parseUsage(csv: string): Map<string, GpuUsage> {
  const usage = new Map<string, GpuUsage>();
  for (const line of csv.split('\n')) {
    const [uuid, mem, util] = line.split(',').map((f) => f.trim());
    if (!uuid || mem === undefined || util === undefined) continue;
    const num = (v: string) => (Number.isFinite(Number.parseFloat(v)) ? Number.parseFloat(v) : 0);
    usage.set(uuid, { uuid, memoryUsedMb: num(mem), utilizationPct: num(util) });
  }
  return usage;
}
