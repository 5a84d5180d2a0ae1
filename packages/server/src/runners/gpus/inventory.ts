import { execFile } from 'node:child_process';

/** One GPU of this machine, as `nvidia-smi` or the config file names it. */
export interface GpuCard {
  /** nvidia-smi's index; also the minor number of its device node `/dev/nvidia<index>`. */
  index: number;
  /** `GPU-<uuid>`, what runners get in `CUDA_VISIBLE_DEVICES`/`NVIDIA_VISIBLE_DEVICES`. */
  uuid: string;
  /** Product name, e.g. `NVIDIA H100 80GB HBM3`. */
  name: string;
  memoryMb: number;
}

/** The query the inventory runs at start. */
export const INVENTORY_ARGS = ['--query-gpu=index,uuid,name,memory.total', '--format=csv,noheader'];

/**
 * This machine's GPUs: the config file's list when it gives one, else what `nvidia-smi` reports.
 * No `nvidia-smi` (or one that fails: no driver loaded) means no GPUs, which is not an error.
 */
export async function readGpuInventory(opts: {
  configured: readonly GpuCard[] | null;
  /** PATH to find nvidia-smi on. */
  searchPath: string;
}): Promise<GpuCard[]> {
  if (opts.configured) return opts.configured.map((c) => ({ ...c }));
  const out = await runNvidiaSmi(INVENTORY_ARGS, opts.searchPath);
  return out === null ? [] : parseInventory(out);
}

/** Parses `index, uuid, name, memory.total` CSV lines (`0, GPU-…, NVIDIA H100 80GB HBM3, 81559 MiB`). */
export function parseInventory(csv: string): GpuCard[] {
  const cards: GpuCard[] = [];
  for (const line of csv.split('\n')) {
    const fields = line.split(',').map((f) => f.trim());
    if (fields.length < 4) continue;
    const index = Number(fields[0]);
    const memory = Number.parseInt(fields[fields.length - 1] ?? '', 10);
    const uuid = fields[1] ?? '';
    // A product name may itself hold commas: it is everything between the uuid and the memory.
    const name = fields.slice(2, -1).join(', ');
    if (!Number.isInteger(index) || uuid === '' || name === '') continue;
    cards.push({ index, uuid, name, memoryMb: Number.isFinite(memory) ? memory : 0 });
  }
  return cards;
}

/** Runs nvidia-smi; null when it is missing or fails. */
export function runNvidiaSmi(args: readonly string[], searchPath: string): Promise<string | null> {
  return new Promise((resolve) => {
    execFile('nvidia-smi', [...args], { env: { PATH: searchPath }, timeout: 10_000 }, (err, stdout) =>
      resolve(err ? null : stdout),
    );
  });
}
