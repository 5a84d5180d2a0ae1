import { existsSync, mkdirSync, readdirSync, readFileSync, rmdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

/** Resource limits of one runner, enforced by its cgroup. */
export interface RunnerLimits {
  memoryBytes: number;
  pidsMax: number;
}

/** One runner's cgroup: the processes put into it, and everything they fork, share its limits. */
export interface RunnerCgroup {
  /** Moves a process (and so its future children) into the cgroup. */
  add(pid: number): void;
  /** Pids currently in the cgroup. */
  pids(): number[];
  /** Peak memory use so far, bytes, when the kernel reports it. */
  memoryPeak(): number | null;
  /** SIGKILLs every process left, then removes the cgroup; safe to call twice. */
  destroy(): Promise<void>;
}

/** Creates per-runner cgroups under one parent, on cgroup v2 or the v1 `memory` and `pids` controllers. */
export interface CgroupManager {
  readonly version: 1 | 2;
  create(name: string, limits: RunnerLimits): RunnerCgroup;
  /** Kills and removes runner cgroups left by an earlier server process. */
  sweep(): Promise<void>;
}

const ROOT = '/sys/fs/cgroup';

/**
 * Finds a writable cgroup hierarchy with memory and pids control, or explains why there is none (then
 * the sandbox runs without per-runner memory and process limits, and says so at start).
 */
export function openCgroups(parentName: string): CgroupManager | { unavailable: string } {
  try {
    if (existsSync(join(ROOT, 'cgroup.controllers'))) return openV2(join(ROOT, parentName));
    if (existsSync(join(ROOT, 'memory')) && existsSync(join(ROOT, 'pids'))) {
      return openV1(join(ROOT, 'memory', parentName), join(ROOT, 'pids', parentName));
    }
    return { unavailable: 'no cgroup memory and pids controllers are mounted' };
  } catch (err) {
    return { unavailable: `cgroups are not writable (${(err as Error).message})` };
  }
}

function openV1(memoryParent: string, pidsParent: string): CgroupManager {
  mkdirSync(memoryParent, { recursive: true });
  mkdirSync(pidsParent, { recursive: true });
  return {
    version: 1,
    create(name, limits) {
      const memory = join(memoryParent, name);
      const pids = join(pidsParent, name);
      mkdirSync(memory, { recursive: true });
      mkdirSync(pids, { recursive: true });
      writeFileSync(join(memory, 'memory.limit_in_bytes'), String(limits.memoryBytes));
      // With swap accounting, memory+swap gets the same cap so the limit cannot be dodged by swapping.
      tryWrite(join(memory, 'memory.memsw.limit_in_bytes'), String(limits.memoryBytes));
      writeFileSync(join(pids, 'pids.max'), String(limits.pidsMax));
      let gone = false;
      return {
        add(pid) {
          writeFileSync(join(memory, 'cgroup.procs'), String(pid));
          writeFileSync(join(pids, 'cgroup.procs'), String(pid));
        },
        pids: () => readPids(pids),
        memoryPeak: () => readNumber(join(memory, 'memory.max_usage_in_bytes')),
        async destroy() {
          if (gone) return;
          gone = true;
          killAll(pids);
          await Promise.all([removeDir(memory), removeDir(pids)]);
        },
      };
    },
    async sweep() {
      for (const parent of [pidsParent, memoryParent]) {
        for (const name of subdirs(parent)) {
          killAll(join(parent, name));
          await removeDir(join(parent, name));
        }
      }
    },
  };
}

function openV2(parent: string): CgroupManager {
  mkdirSync(parent, { recursive: true });
  // Controllers must be enabled on every level above the runner cgroups.
  tryWrite(join(ROOT, 'cgroup.subtree_control'), '+memory +pids');
  writeFileSync(join(parent, 'cgroup.subtree_control'), '+memory +pids');
  return {
    version: 2,
    create(name, limits) {
      const dir = join(parent, name);
      mkdirSync(dir, { recursive: true });
      writeFileSync(join(dir, 'memory.max'), String(limits.memoryBytes));
      tryWrite(join(dir, 'memory.swap.max'), '0');
      writeFileSync(join(dir, 'pids.max'), String(limits.pidsMax));
      let gone = false;
      return {
        add: (pid) => writeFileSync(join(dir, 'cgroup.procs'), String(pid)),
        pids: () => readPids(dir),
        memoryPeak: () => readNumber(join(dir, 'memory.peak')),
        async destroy() {
          if (gone) return;
          gone = true;
          if (!tryWrite(join(dir, 'cgroup.kill'), '1')) killAll(dir);
          await removeDir(dir);
        },
      };
    },
    async sweep() {
      for (const name of subdirs(parent)) {
        const dir = join(parent, name);
        if (!tryWrite(join(dir, 'cgroup.kill'), '1')) killAll(dir);
        await removeDir(dir);
      }
    },
  };
}

function readPids(dir: string): number[] {
  try {
    return readFileSync(join(dir, 'cgroup.procs'), 'utf8')
      .split('\n')
      .filter((s) => s !== '')
      .map(Number);
  } catch {
    return [];
  }
}

function killAll(dir: string): void {
  // A fork bomb can add processes while we kill; pids.max bounds it, so a few rounds empty the group.
  for (let round = 0; round < 50; round++) {
    const pids = readPids(dir);
    if (pids.length === 0) return;
    for (const pid of pids) {
      try {
        process.kill(pid, 'SIGKILL');
      } catch {
        // already gone
      }
    }
  }
}

/** rmdir once the kernel has reaped the killed processes (it refuses while any remain). */
async function removeDir(dir: string): Promise<void> {
  const deadline = Date.now() + 5000;
  for (;;) {
    try {
      rmdirSync(dir);
      return;
    } catch (err) {
      const code = (err as NodeJS.ErrnoException).code;
      if (code === 'ENOENT' || Date.now() > deadline) return;
      killAll(dir);
      await new Promise((resolve) => setTimeout(resolve, 10));
    }
  }
}

function subdirs(dir: string): string[] {
  try {
    return readdirSync(dir, { withFileTypes: true })
      .filter((e) => e.isDirectory())
      .map((e) => e.name);
  } catch {
    return [];
  }
}

function readNumber(path: string): number | null {
  try {
    const n = Number(readFileSync(path, 'utf8').trim());
    return Number.isFinite(n) ? n : null;
  } catch {
    return null;
  }
}

function tryWrite(path: string, value: string): boolean {
  try {
    writeFileSync(path, value);
    return true;
  } catch {
    return false;
  }
}
