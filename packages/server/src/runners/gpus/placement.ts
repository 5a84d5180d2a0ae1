import type { RunnerHooks, RunnerSpec } from '@hangar/core';
import type { GpuAllocator } from './allocator.js';
import type { GpuCard } from './inventory.js';
import type { GpuSampler } from './sampler.js';

/** The GPUs a local runner got and the variables that tell CUDA and NVIDIA's tools about them. */
export interface GpuPlacement {
  readonly cards: readonly GpuCard[];
  /** Set after the runner's own env, so an app cannot name other cards. */
  readonly env: Readonly<Record<string, string>>;
  release(): void;
}

const NONE: GpuPlacement = { cards: [], env: {}, release() {} };

/**
 * Takes a local runner's GPUs from the machine's allocator, waiting in `PENDING` while they are busy.
 * A machine without GPUs (no allocator) places nothing: GPU machine types run there without cards.
 * On a machine with GPUs, a runner that asks for none sees none (`CUDA_VISIBLE_DEVICES` empty).
 */
export async function placeGpus(
  allocator: GpuAllocator | null,
  spec: RunnerSpec,
  hooks: Pick<RunnerHooks, 'onPhase'>,
  signal: AbortSignal | undefined,
): Promise<GpuPlacement> {
  if (allocator === null) return NONE;
  const request = spec.resources.gpus;
  if (request === null || request.count <= 0) {
    return { cards: [], env: { CUDA_VISIBLE_DEVICES: '', NVIDIA_VISIBLE_DEVICES: 'void' }, release() {} };
  }
  const lease = await allocator.acquire(request, signal, (why) => hooks.onPhase('PENDING', why));
  // UUIDs, not indexes: CUDA numbers devices in its own order unless told otherwise; a UUID is one card.
  const ids = lease.cards.map((c) => c.uuid).join(',');
  return {
    cards: lease.cards,
    env: { CUDA_VISIBLE_DEVICES: ids, NVIDIA_VISIBLE_DEVICES: ids, CUDA_DEVICE_ORDER: 'PCI_BUS_ID' },
    release: () => lease.release(),
  };
}

/** A machine's GPUs as the local drivers use them. */
export interface LocalGpus {
  allocator: GpuAllocator;
  sampler: GpuSampler;
}
