import { createGpuAllocator } from './allocator.js';
import { type GpuCard, readGpuInventory } from './inventory.js';
import type { LocalGpus } from './placement.js';
import { createGpuSampler } from './sampler.js';

export type { GpuAllocator, GpuLease } from './allocator.js';
export type { GpuCard } from './inventory.js';
export type { LocalGpus } from './placement.js';

/** This machine's GPUs for the local drivers (the config's list, else nvidia-smi's), or null when it has none. */
export async function openLocalGpus(opts: {
  gpus: readonly GpuCard[] | null;
  searchPath: string;
}): Promise<LocalGpus | null> {
  const cards = await readGpuInventory({ configured: opts.gpus, searchPath: opts.searchPath });
  if (cards.length === 0) return null;
  return { allocator: createGpuAllocator(cards), sampler: createGpuSampler(opts.searchPath) };
}
