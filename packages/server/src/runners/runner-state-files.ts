import { mkdirSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { FoundRunner, RunnerLabels } from '@hangar/core';

/** What a local driver writes down per runner so a restarted server can find the runner again. */
interface StateFile {
  pid: number;
  /** The process's start time (`/proc/<pid>/stat` field 22): a reused pid has another one. */
  startTime: string;
  labels: RunnerLabels;
}

/**
 * One small JSON file per local runner (`<dir>/<runnerId>.json`: pid, process start time, labels): the
 * process and sandbox drivers' answer to orphan discovery. A file outlives its runner only when the
 * server died first; `discover` then finds it and `remove` kills what is left of the process group,
 * but only if the pid still names the same process (same start time).
 */
export interface RunnerStateFiles {
  /** Records a started runner; its ref is the pid as text. */
  record(pid: number, labels: RunnerLabels): void;
  /** Drops the record of a runner that ended. */
  forget(runnerId: string): void;
  discover(node: string): FoundRunner[];
  /** Kills the runner's process group if it is still the recorded process, then drops its record. */
  remove(ref: string, kill: (pid: number) => void): void;
}

/** Where the records live: a folder of files, or (no folder given) this process's memory. */
interface StateShelf {
  put(runnerId: string, state: StateFile): void;
  drop(runnerId: string): void;
  all(): Array<{ runnerId: string; state: StateFile }>;
}

function folderShelf(dir: string): StateShelf {
  mkdirSync(dir, { recursive: true, mode: 0o700 });
  const fileOf = (runnerId: string) => join(dir, `${runnerId.replace(/[^A-Za-z0-9_.-]/g, '_')}.json`);
  return {
    put: (runnerId, state) => writeFileSync(fileOf(runnerId), JSON.stringify(state), { mode: 0o600 }),
    drop: (runnerId) => rmSync(fileOf(runnerId), { force: true }),
    all() {
      const out: Array<{ runnerId: string; state: StateFile }> = [];
      for (const name of readdirSync(dir)) {
        if (!name.endsWith('.json')) continue;
        const path = join(dir, name);
        try {
          out.push({
            runnerId: name.slice(0, -'.json'.length),
            state: JSON.parse(readFileSync(path, 'utf8')),
          });
        } catch {
          // half-written by a server that died mid-write: its runner is found by no one, drop it
          rmSync(path, { force: true });
        }
      }
      return out;
    },
  };
}

function memoryShelf(): StateShelf {
  const states = new Map<string, StateFile>();
  return {
    put: (runnerId, state) => states.set(runnerId, state),
    drop: (runnerId) => states.delete(runnerId),
    all: () => [...states].map(([runnerId, state]) => ({ runnerId, state })),
  };
}

/**
 * The records of a local driver's runners, in `dir`, or without one in memory: a driver given no state
 * folder (tests, embedders) finds its own runners again but no later process does.
 */
export function openRunnerStateFiles(dir?: string): RunnerStateFiles {
  const shelf = dir === undefined ? memoryShelf() : folderShelf(dir);
  return {
    record(pid, labels) {
      const startTime = processStartTime(pid);
      if (startTime === null) return;
      shelf.put(labels.runnerId, { pid, startTime, labels });
    },
    forget(runnerId) {
      shelf.drop(runnerId);
    },
    discover(node) {
      return shelf
        .all()
        .filter(({ state }) => state.labels.node === node)
        .map(({ state }) => ({
          ref: String(state.pid),
          labels: state.labels,
          alive: processStartTime(state.pid) === state.startTime,
        }));
    },
    remove(ref, kill) {
      for (const { runnerId, state } of shelf.all()) {
        if (String(state.pid) !== ref) continue;
        if (processStartTime(state.pid) === state.startTime) kill(state.pid);
        shelf.drop(runnerId);
      }
    },
  };
}

/** Field 22 of `/proc/<pid>/stat` (clock ticks after boot), or null when there is no such process. */
export function processStartTime(pid: number): string | null {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    // The command name (field 2) may hold spaces and parentheses; fields after it are plain.
    const rest = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return rest[19] ?? null;
  } catch {
    return null;
  }
}
