import { foldGpuSample, type GpuUsage, type RunnerGpuSummary, type RunnerHandle } from '@hangar/core';

/** A runner's GPUs as the driver samples them: the last sample, and every sample folded per card. */
export class RunnerGpuSamples {
  /** The runner's GPUs as last sampled (empty: none, or the driver cannot tell). */
  usage: readonly GpuUsage[] = [];
  /** Every sample of its GPUs folded per card (last, peak memory, mean utilisation): runner history. */
  history: RunnerGpuSummary[] = [];

  /**
   * Refreshes `usage` from `handle`, when its driver samples GPUs, while `alive()` holds; a failed
   * sample keeps the last one.
   */
  sample(handle: RunnerHandle | null, alive: () => boolean, clock: () => number): void {
    const sample = handle?.sampleGpus;
    if (!sample || !alive()) return;
    sample
      .call(handle)
      .then((usage) => {
        if (!alive()) return;
        this.usage = usage;
        // Recorded with the next registry write (metering, a state change, the end).
        if (usage.length > 0) this.history = foldGpuSample(this.history, usage, clock());
      })
      .catch(() => {});
  }
}
