import { chmodSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { GpuCard } from './inventory.js';

/** The made-up machine of the GPU tests: 6 H100s and 2 A100s (no real GPU exists where tests run). */
export const FAKE_CARDS: GpuCard[] = [
  ...[0, 1, 2, 3, 4, 5].map((i) => ({
    index: i,
    uuid: `GPU-00000000-0000-0000-0000-00000000000${i}`,
    name: 'NVIDIA H100 80GB HBM3',
    memoryMb: 81559,
  })),
  ...[6, 7].map((i) => ({
    index: i,
    uuid: `GPU-00000000-0000-0000-0000-00000000000${i}`,
    name: 'NVIDIA A100-SXM4-80GB',
    memoryMb: 81920,
  })),
];

/**
 * A fake `nvidia-smi`, written into a temp folder to put on PATH: a shell script that answers the two
 * queries Hangar makes (the inventory; memory in use and utilisation, `1000 + 10 × index` MiB and
 * `index × 10` %) about `FAKE_CARDS`, and fails on anything else. It models no driver, process list or
 * error state of the real tool.
 */
export function fakeNvidiaSmi(cards: readonly GpuCard[] = FAKE_CARDS): { dir: string; cleanup: () => void } {
  const dir = mkdtempSync(join(tmpdir(), 'hangar-fake-nvidia-smi-'));
  const inventory = cards.map((c) => `${c.index}, ${c.uuid}, ${c.name}, ${c.memoryMb} MiB`).join('\n');
  const usage = cards.map((c) => `${c.uuid}, ${1000 + 10 * c.index}, ${c.index * 10}`).join('\n');
  const script = `#!/bin/sh
case "$1" in
  --query-gpu=index,uuid,name,memory.total) cat <<'END'
${inventory}
END
  ;;
  --query-gpu=uuid,memory.used,utilization.gpu) cat <<'END'
${usage}
END
  ;;
  *) echo "fake nvidia-smi: unsupported arguments: $*" >&2; exit 2 ;;
esac
`;
  writeFileSync(join(dir, 'nvidia-smi'), script);
  chmodSync(join(dir, 'nvidia-smi'), 0o755);
  return { dir, cleanup: () => rmSync(dir, { recursive: true, force: true }) };
}
