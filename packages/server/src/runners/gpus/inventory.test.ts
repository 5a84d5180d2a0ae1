import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { FAKE_CARDS, fakeNvidiaSmi } from './fake-nvidia-smi.test-helper.js';
import { parseInventory, readGpuInventory } from './inventory.js';
import { createGpuSampler, parseUsage } from './sampler.js';

describe('GPU inventory', () => {
  it('reads what nvidia-smi on PATH reports', async () => {
    const fake = fakeNvidiaSmi();
    try {
      const cards = await readGpuInventory({ configured: null, searchPath: `${fake.dir}:/usr/bin:/bin` });
      expect(cards).toEqual(FAKE_CARDS);
    } finally {
      fake.cleanup();
    }
  });

  it('is empty, without error, when nvidia-smi is missing', async () => {
    const empty = mkdtempSync(join(tmpdir(), 'hangar-no-smi-'));
    try {
      expect(await readGpuInventory({ configured: null, searchPath: empty })).toEqual([]);
    } finally {
      rmSync(empty, { recursive: true, force: true });
    }
  });

  it("takes the config file's list over nvidia-smi", async () => {
    const fake = fakeNvidiaSmi();
    try {
      const configured = [{ index: 3, uuid: 'GPU-x', name: 'NVIDIA L40S', memoryMb: 46068 }];
      const cards = await readGpuInventory({ configured, searchPath: `${fake.dir}:/usr/bin:/bin` });
      expect(cards).toEqual(configured);
    } finally {
      fake.cleanup();
    }
  });

  it('parses names with commas and skips lines it cannot read', () => {
    expect(parseInventory('0, GPU-a, Tesla T4, rev, 15360 MiB\ngarbage\n\n')).toEqual([
      { index: 0, uuid: 'GPU-a', name: 'Tesla T4, rev', memoryMb: 15360 },
    ]);
  });

  it('samples memory and utilisation per card, [N/A] as 0', async () => {
    expect([...parseUsage('GPU-a, 512, 37\nGPU-b, [N/A], [N/A]\n').values()]).toEqual([
      { uuid: 'GPU-a', memoryUsedMb: 512, utilizationPct: 37 },
      { uuid: 'GPU-b', memoryUsedMb: 0, utilizationPct: 0 },
    ]);
    const fake = fakeNvidiaSmi();
    try {
      const sampler = createGpuSampler(`${fake.dir}:/usr/bin:/bin`);
      const uuid = FAKE_CARDS[2]!.uuid;
      expect(await sampler.sample([uuid])).toEqual([{ uuid, memoryUsedMb: 1020, utilizationPct: 20 }]);
    } finally {
      fake.cleanup();
    }
  });
});
