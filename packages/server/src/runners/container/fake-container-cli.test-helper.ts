import {
  chmodSync,
  existsSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

const SCRIPT = fileURLToPath(new URL('./fake-container-cli.test-helper.mjs', import.meta.url));

/** A local command the fake runs in place of an image. */
export interface FakeImage {
  command: string[];
  cwd: string;
}

/** A container as the fake keeps it (what `create` was given, and its process). */
export interface FakeContainer {
  name: string;
  image: string;
  args: string[];
  labels: Record<string, string>;
  env: Record<string, string>;
  envFileMode?: string;
  volumes: string[][];
  flags: Record<string, string | true>;
  gpus: string[];
  devices: string[];
  rm: boolean;
  state: 'created' | 'running' | 'exited';
  pid?: number | null;
}

/** The fake CLI of one test: its path (named `docker` or `podman`) and what it recorded. */
export interface FakeContainerCli {
  cli: string;
  /** Every argv it was called with, in order. */
  calls(): string[][];
  /** The containers it holds now. */
  containers(): FakeContainer[];
  cleanup(): void;
}

/**
 * Writes a FAKE `docker`/`podman` into a temp folder (see `fake-container-cli.test-helper.mjs` for
 * what it models and what it does not). `images` maps image references to the local command started
 * in their place; `pullDelayMs` makes `pull` take that long, so `DOCKER_PULL` can be seen.
 */
export function fakeContainerCli(opts: {
  images: Record<string, FakeImage>;
  pullDelayMs?: number;
  flavor?: 'docker' | 'podman';
}): FakeContainerCli {
  const dir = mkdtempSync(join(tmpdir(), 'hangar-fake-container-cli-'));
  const state = join(dir, 'state');
  const cli = join(dir, opts.flavor ?? 'docker');
  mkdirSync(state);
  writeFileSync(
    join(state, 'config.json'),
    JSON.stringify({ images: opts.images, pullDelayMs: opts.pullDelayMs ?? 0 }),
  );
  writeFileSync(cli, `#!/bin/sh\nexec ${quote(process.execPath)} ${quote(SCRIPT)} ${quote(state)} "$@"\n`);
  chmodSync(cli, 0o755);
  return {
    cli,
    calls: () => {
      const log = join(state, 'argv.log');
      if (!existsSync(log)) return [];
      return readFileSync(log, 'utf8')
        .split('\n')
        .filter((l) => l !== '')
        .map((l) => JSON.parse(l) as string[]);
    },
    containers: () => fakeContainers(state),
    cleanup: () => {
      for (const c of fakeContainers(state)) if (c.pid) tryKill(c.pid);
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

function fakeContainers(state: string): FakeContainer[] {
  const folder = join(state, 'containers');
  if (!existsSync(folder)) return [];
  return readdirSync(folder)
    .filter((f) => f.endsWith('.json'))
    .map((f) => JSON.parse(readFileSync(join(folder, f), 'utf8')) as FakeContainer);
}

function quote(s: string): string {
  return `'${s.replaceAll("'", "'\\''")}'`;
}

function tryKill(pid: number): void {
  try {
    process.kill(pid, 'SIGKILL');
  } catch {
    // already gone
  }
}
