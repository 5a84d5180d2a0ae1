import { type ChildProcess, spawn } from 'node:child_process';
import { createServer } from 'node:net';
import {
  PlatformError,
  type RunnerDriver,
  type RunnerHandle,
  type RunnerHooks,
  type RunnerSpec,
} from '@hangar/core';
import { type GpuPlacement, type LocalGpus, placeGpus } from './gpus/placement.js';
import { LineSplitter } from './line-splitter.js';
import { listenerIsFamilyOf } from './port-owner.js';
import { openRunnerStateFiles } from './runner-state-files.js';

/** Variables a runner inherits from the server's environment; everything else comes from its spec. */
const BASE_ENV_KEYS = ['PATH', 'HOME', 'USER', 'LANG', 'LC_ALL', 'TZ', 'TMPDIR', 'SYSTEMROOT'];

/** How long to wait for stdout/stderr to close after the process exited before giving up on them. */
const STREAM_CLOSE_WAIT_MS = 500;

export interface ProcessDriverOptions {
  /** Environment every runner starts from; defaults to a few variables of this process. */
  baseEnv?: Record<string, string>;
  /** Port of the file host on 127.0.0.1 (see {@link filesEnv}), or null when there is none. */
  filesPort?: number | null;
  /**
   * Where per-runner state files go (`HANGAR_HOME/run/runners`), for orphan discovery after a restart;
   * default in memory (discovery then covers this driver's own runners only).
   */
  stateDir?: string;
  /** This machine's GPUs, handed out one runner per card; absent or null: the machine has none. */
  gpus?: LocalGpus | null;
}

/**
 * The runner contract's `HANGAR_FILES_URL`: where a runner reads `file_url`s of this server (the file
 * host, which serves `GET /files/{id}/{name}` and nothing else). Replacing everything up to and
 * including `/files/` in a `file_url` with it gives a URL the runner can reach, sandboxed or not.
 */
export function filesEnv(filesPort: number | null | undefined): Record<string, string> {
  return filesPort ? { HANGAR_FILES_URL: `http://127.0.0.1:${filesPort}/files/` } : {};
}

/** A runner driver that starts each runner as a local process group listening on a free 127.0.0.1 port. */
export function createProcessRunnerDriver(options: ProcessDriverOptions = {}): RunnerDriver {
  const baseEnv = options.baseEnv ?? pickBaseEnv(process.env);
  const states = openRunnerStateFiles(options.stateDir);
  return {
    kind: 'process',
    async start(spec, hooks, signal) {
      const artifact = bundleArtifact(spec);
      signal?.throwIfAborted();
      const placed = await placeGpus(options.gpus?.allocator ?? null, spec, hooks, signal);
      try {
        const port = await freePort();
        const env = {
          ...baseEnv,
          ...spec.env,
          ...spec.secrets,
          ...placed.env,
          ...filesEnv(options.filesPort),
          DATA_DIR: spec.dataDir,
          PORT: String(port),
        };
        const child = await spawnRunner(artifact, env);
        if (child.pid) states.record(child.pid, spec.labels);
        watchChild(child, hooks, async () => {
          states.forget(spec.runnerId);
          placed.release();
        });
        hooks.onPhase('SETUP');
        const handle = processHandle(spec.runnerId, port, child, placed, options.gpus);
        if (signal?.aborted) {
          handle.kill();
          signal.throwIfAborted();
        }
        return handle;
      } catch (err) {
        // Released again by the exit of a process that did start: release is idempotent.
        placed.release();
        throw err;
      }
    },
    async discover(node) {
      return states.discover(node);
    },
    async remove(ref) {
      states.remove(ref, (pid) => signalGroup(pid, 'SIGKILL'));
    },
  };
}

/** The bundle a local driver runs from (image apps need a driver that runs images). */
export function bundleArtifact(spec: RunnerSpec): { dir: string; command: string[] } {
  if (spec.artifact.kind !== 'bundle') {
    throw new PlatformError(
      'RUNNER_IMAGE_UNSUPPORTED',
      'this runner driver runs bundled apps only, not container images (configure runners.container_cli)',
    );
  }
  return spec.artifact;
}

function pickBaseEnv(source: NodeJS.ProcessEnv): Record<string, string> {
  // Unbuffered Python output makes runner logs appear as they are written, not at exit.
  const env: Record<string, string> = { PYTHONUNBUFFERED: '1' };
  for (const key of BASE_ENV_KEYS) {
    const value = source[key];
    if (value !== undefined) env[key] = value;
  }
  return env;
}

/** Ports handed out lately (port → when): two runners starting together must not be told the same one. */
const handedOut = new Map<number, number>();
const HANDED_OUT_MS = 60_000;

/**
 * Asks the OS for a free port, never one this process handed out in the last minute. Another process
 * could still take it before the runner binds: the runner then fails to start, and its readiness check
 * (`listenerIsOurs`) never mistakes that process for the app.
 */
export async function freePort(ask: () => Promise<number> = askPort): Promise<number> {
  const now = Date.now();
  for (const [port, at] of handedOut) if (now - at > HANDED_OUT_MS) handedOut.delete(port);
  for (let attempt = 0; ; attempt++) {
    const port = await ask();
    if (handedOut.has(port) && attempt < 20) continue;
    handedOut.set(port, now);
    return port;
  }
}

function askPort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.unref();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      const port = typeof address === 'object' && address ? address.port : 0;
      server.close(() => resolve(port));
    });
  });
}

function spawnRunner(
  artifact: { dir: string; command: string[] },
  env: Record<string, string>,
): Promise<ChildProcess> {
  const [file, ...args] = artifact.command;
  if (!file) return Promise.reject(new Error('empty command'));
  return new Promise((resolve, reject) => {
    // Own process group (detached) so stop/kill reach every process the app forks.
    const child = spawn(file, args, {
      cwd: artifact.dir,
      env,
      detached: true,
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    child.once('error', reject);
    child.once('spawn', () => {
      child.off('error', reject);
      child.on('error', () => {});
      resolve(child);
    });
  });
}

/** Forwards a child's output lines and its end to the hooks; `onEnd` runs before `hooks.onExit`. */
export function watchChild(
  child: ChildProcess,
  hooks: Pick<RunnerHooks, 'onLine' | 'onExit'>,
  onEnd?: () => Promise<void>,
): void {
  const out = new LineSplitter((line) => hooks.onLine('stdout', line));
  const err = new LineSplitter((line) => hooks.onLine('stderr', line));
  child.stdout?.on('data', (chunk: Buffer) => out.push(chunk));
  child.stderr?.on('data', (chunk: Buffer) => err.push(chunk));
  let done = false;
  const finish = () => {
    if (done) return;
    done = true;
    out.end();
    err.end();
    if (!onEnd) hooks.onExit(child.exitCode, child.signalCode);
    else void onEnd().finally(() => hooks.onExit(child.exitCode, child.signalCode));
  };
  child.once('close', finish);
  child.once('exit', () => {
    // Leftover children of the group would keep the port and the pipes.
    if (child.pid) signalGroup(child.pid, 'SIGKILL');
    setTimeout(() => {
      child.stdout?.destroy();
      child.stderr?.destroy();
      finish();
    }, STREAM_CLOSE_WAIT_MS).unref();
  });
}

function processHandle(
  runnerId: string,
  port: number,
  child: ChildProcess,
  placed: GpuPlacement,
  gpus: LocalGpus | null | undefined,
): RunnerHandle {
  const pid = child.pid ?? null;
  const ref = pid === null ? '' : String(pid);
  const exited = new Promise<void>((resolve) => {
    if (child.exitCode !== null || child.signalCode !== null) resolve();
    else child.once('exit', () => resolve());
  });
  return {
    runnerId,
    url: `http://127.0.0.1:${port}`,
    ref,
    ...gpuHandle(placed, gpus),
    // Without /proc (macOS) the health probe alone decides.
    listenerIsOurs: async () => pid === null || ((await listenerIsFamilyOf(pid, port)) ?? true),
    stop(graceMs) {
      if (pid === null || child.exitCode !== null || child.signalCode !== null) return exited;
      signalGroup(pid, 'SIGTERM');
      const timer = setTimeout(() => signalGroup(pid, 'SIGKILL'), graceMs);
      return exited.then(() => clearTimeout(timer));
    },
    kill() {
      if (pid !== null) signalGroup(pid, 'SIGKILL');
    },
  };
}

/** Signals a whole process group; a group that is already gone is not an error. */
export function signalGroup(pid: number, signal: NodeJS.Signals): void {
  try {
    process.kill(-pid, signal);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'ESRCH') throw err;
  }
}

/** The handle's `gpus` (UUIDs) and, when it has cards, `sampleGpus` over the machine's sampler. */
export function gpuHandle(
  placed: GpuPlacement,
  gpus: LocalGpus | null | undefined,
): Pick<RunnerHandle, 'gpus' | 'sampleGpus'> {
  const uuids = placed.cards.map((c) => c.uuid);
  if (uuids.length === 0 || !gpus) return { gpus: uuids };
  return { gpus: uuids, sampleGpus: () => gpus.sampler.sample(uuids) };
}
