import { describe, expect, it } from 'vitest';
import { foldGpuSample } from './gpu-history.js';

describe('foldGpuSample', () => {
  it('keeps the last sample, the peak memory and the mean utilisation per card', () => {
    let h = foldGpuSample([], [{ uuid: 'GPU-a', memoryUsedMb: 1000, utilizationPct: 10 }], 1_000);
    h = foldGpuSample(h, [{ uuid: 'GPU-a', memoryUsedMb: 5000, utilizationPct: 90 }], 2_000);
    const before = structuredClone(h);
    h = foldGpuSample(
      h,
      [
        { uuid: 'GPU-a', memoryUsedMb: 3000, utilizationPct: 50 },
        { uuid: 'GPU-b', memoryUsedMb: 7, utilizationPct: 0 },
      ],
      3_000,
    );
    expect(h).toEqual([
      {
        uuid: 'GPU-a',
        samples: 3,
        lastAt: 3_000,
        memoryUsedMb: 3000,
        memoryPeakMb: 5000,
        utilizationPct: 50,
        utilizationAvgPct: 50,
      },
      {
        uuid: 'GPU-b',
        samples: 1,
        lastAt: 3_000,
        memoryUsedMb: 7,
        memoryPeakMb: 7,
        utilizationPct: 0,
        utilizationAvgPct: 0,
      },
    ]);
    // The previous summaries are not changed in place.
    expect(before[0]?.samples).toBe(2);
  });
});
