import { type ChildProcess, spawn } from 'node:child_process';
import { closeSync, lstatSync, mkdirSync, openSync, readFileSync, readlinkSync } from 'node:fs';
import { join } from 'node:path';
import type { Readable, Writable } from 'node:stream';
import type { RunnerDriver, RunnerHandle, RunnerHooks, RunnerSpec } from '@hangar/core';
import { type GpuPlacement, type LocalGpus, placeGpus } from '../gpus/placement.js';
import { bundleArtifact, filesEnv, freePort, gpuHandle, signalGroup, watchChild } from '../process-driver.js';
import { openRunnerStateFiles } from '../runner-state-files.js';
import type { CgroupManager } from './cgroups.js';
import type { OwnerIdentities } from './identities.js';
import { forwardIngress, type IngressForward } from './pasta.js';
import { bwrapArgs, SANDBOX_DATA_DIR, SANDBOX_HOME, type SandboxHost, sandboxPath } from './plan.js';

/** Everything the sandboxed driver is configured with (resolved once at start by `probeSandbox`). */
export interface SandboxDriverOptions {
  bwrap: string;
  pasta: string;
  prlimit: string;
  /** setpriv's path as seen inside the sandbox (it lies under /usr or /bin there too). */
  setpriv: string;
  identities: OwnerIdentities;
  /** Per-runner cgroups, or null where the host gives none (then only rlimits apply). */
  cgroups: CgroupManager | null;
  /** Directory for pasta's pid files (server-private). */
  runDir: string;
  /** Where per-runner state files go, for orphan discovery (default: a fresh temporary folder). */
  stateDir?: string;
  /** This machine's GPUs; a runner sees only the device nodes of its own cards. */
  gpus?: LocalGpus | null;
  memoryBytes: number;
  pidsMax: number;
  nofile: number;
  tmpBytes: number;
  roPaths: readonly string[];
  /** The egress proxy's port on 127.0.0.1, forwarded into every runner's namespace; null: no egress. */
  egressPort: number | null;
  /** The file host's port on 127.0.0.1, forwarded into every runner's namespace; null: none. */
  filesPort?: number | null;
  /** Variables every runner gets before its own (LANG, TZ, …). */
  baseEnv?: Record<string, string>;
}

/** bubblewrap's info and block descriptors, as stdio slots of the spawned process. */
const INFO_FD = 3;
const BLOCK_FD = 4;

/**
 * Runs each runner in a bubblewrap sandbox (see `plan.ts` for what it sees) as its owner's own host
 * uid, in its own pid, mount, IPC, UTS and network namespaces, with a cgroup capping memory and
 * processes. The gateway reaches it through a pasta port forward on 127.0.0.1; the runner itself can
 * open no connection at all. The handle's ref is bubblewrap's pid (its process group is what `remove`
 * kills; `--die-with-parent` takes the sandbox down with it, and with the server).
 */
export function createSandboxRunnerDriver(options: SandboxDriverOptions): RunnerDriver {
  const host = hostView();
  // A limit above the server's own hard limit cannot be set; the configured one is a ceiling.
  const hardNofile = ownHardLimit('Max open files') ?? options.nofile;
  const baseEnv = { PYTHONUNBUFFERED: '1', ...(options.baseEnv ?? {}) };
  mkdirSync(options.runDir, { recursive: true, mode: 0o700 });
  const states = openRunnerStateFiles(options.stateDir);

  return {
    kind: 'sandbox',
    async start(spec, hooks, abort) {
      const artifact = bundleArtifact(spec);
      abort?.throwIfAborted();
      const placed = await placeGpus(options.gpus?.allocator ?? null, spec, hooks, abort);
      try {
        return await startSandboxed(spec, hooks, abort, artifact, placed);
      } catch (err) {
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

  async function startSandboxed(
    spec: RunnerSpec,
    hooks: RunnerHooks,
    abort: AbortSignal | undefined,
    artifact: { dir: string; command: string[] },
    placed: GpuPlacement,
  ): Promise<RunnerHandle> {
    const port = await freePort();
    const identity = options.identities.forOwner(spec.owner);
    await options.identities.prepareDataDir(spec.owner, spec.dataDir);
    const cgroup =
      options.cgroups?.create(cgroupName(spec), {
        memoryBytes: options.memoryBytes,
        pidsMax: options.pidsMax,
      }) ?? null;
    let ingress: IngressForward | null = null;
    let cleanedUp = false;
    const cleanup = async () => {
      cleanedUp = true;
      states.forget(spec.runnerId);
      placed.release();
      await ingress?.close();
      await cgroup?.destroy();
    };
    const env = {
      ...baseEnv,
      PATH: sandboxPath(options.roPaths),
      HOME: SANDBOX_HOME,
      TMPDIR: '/tmp',
      USER: 'app',
      ...spec.env,
      ...spec.secrets,
      ...placed.env,
      ...(options.egressPort === null ? {} : proxyEnv(options.egressPort)),
      ...filesEnv(options.filesPort),
      DATA_DIR: SANDBOX_DATA_DIR,
      PORT: String(port),
    };
    const args = bwrapArgs(host, {
      uid: identity.uid,
      gid: identity.gid,
      appDir: artifact.dir,
      dataDir: spec.dataDir,
      passwdFile: identity.passwdFile,
      groupFile: identity.groupFile,
      tmpBytes: options.tmpBytes,
      roPaths: options.roPaths,
      env,
      command: artifact.command,
      gpuIndexes: placed.cards.map((c) => c.index),
      setprivPath: options.setpriv,
      infoFd: INFO_FD,
      blockFd: BLOCK_FD,
    });
    const nofile = Math.min(options.nofile, hardNofile);
    const limits = [`--nofile=${nofile}:${nofile}`, '--core=0:0'];
    // Without a pids cgroup, the owner's uid gets a process cap instead (shared by its runners).
    if (!cgroup) limits.push(`--nproc=${options.pidsMax}:${options.pidsMax}`);
    const child = spawn(options.prlimit, [...limits, '--', options.bwrap, ...args], {
      detached: true,
      stdio: ['ignore', 'pipe', 'pipe', 'pipe', 'pipe'],
    });
    // bubblewrap closes its ends of the info and block descriptors when done with them.
    for (const fd of [INFO_FD, BLOCK_FD]) child.stdio[fd]?.on('error', () => {});
    const ended = new Promise<void>((resolve) => child.once('exit', () => resolve()));
    let sandboxPid: number | null = null;
    let killed = false;
    watchChild(
      child,
      {
        onLine: hooks.onLine,
        onExit: (code, signal) => {
          // bubblewrap reports an app killed by a signal as 128 + its number, like a shell.
          const bySignal = code !== null && code > 128 && code < 160 ? signalName(code - 128) : null;
          if (killed && code !== 0) hooks.onExit(null, 'SIGKILL');
          else if (bySignal) hooks.onExit(null, bySignal);
          else hooks.onExit(code, signal);
        },
      },
      cleanup,
    );
    try {
      await spawned(child);
      if (child.pid) states.record(child.pid, spec.labels);
      sandboxPid = await readChildPid(child.stdio[INFO_FD] as Readable);
      cgroup?.add(sandboxPid);
      const netns = openSync(`/proc/${sandboxPid}/ns/net`, 'r');
      // The app starts while pasta sets up (tens of ms); health checks wait for both.
      (child.stdio[BLOCK_FD] as Writable).end('go');
      try {
        ingress = await forwardIngress({
          pasta: options.pasta,
          netnsFd: netns,
          port,
          egressPort: options.egressPort,
          filesPort: options.filesPort ?? null,
          pidFile: join(options.runDir, `${spec.runnerId}.pasta.pid`),
        });
      } finally {
        closeSync(netns);
      }
      // An app that ended while the forward was being set up has already been cleaned up without it.
      if (cleanedUp) await ingress.close();
      abort?.throwIfAborted();
    } catch (err) {
      killed = true;
      if (child.pid) signalGroup(child.pid, 'SIGKILL');
      await ended;
      throw err;
    }
    const pid = child.pid ?? null;
    const inner = sandboxPid;
    hooks.onPhase('SETUP');
    return {
      runnerId: spec.runnerId,
      url: `http://127.0.0.1:${port}`,
      ref: pid === null ? '' : String(pid),
      ...gpuHandle(placed, options.gpus),
      stop(graceMs) {
        if (child.exitCode !== null || child.signalCode !== null) return ended;
        // The sandbox's pid 1 ignores SIGTERM; the app and everything it forked get it.
        for (const p of descendants(inner)) signal(p, 'SIGTERM');
        const timer = setTimeout(() => kill(), graceMs);
        return ended.then(() => clearTimeout(timer));
      },
      kill,
    } satisfies RunnerHandle;

    function kill(): void {
      killed = true;
      // SIGKILL of the namespace's pid 1 ends every process in it.
      signal(inner, 'SIGKILL');
      if (pid !== null) signalGroup(pid, 'SIGKILL');
    }
  }
}

/** The variables HTTP clients (curl, Python requests, huggingface_hub, pip) read their proxy from. */
function proxyEnv(port: number): Record<string, string> {
  const url = `http://127.0.0.1:${port}`;
  const noProxy = 'localhost,127.0.0.1,::1';
  return {
    HTTP_PROXY: url,
    HTTPS_PROXY: url,
    http_proxy: url,
    https_proxy: url,
    NO_PROXY: noProxy,
    no_proxy: noProxy,
  };
}

function cgroupName(spec: RunnerSpec): string {
  return `runner-${spec.runnerId.replace(/[^A-Za-z0-9_-]/g, '_')}`;
}

function spawned(child: ChildProcess): Promise<void> {
  return new Promise((resolve, reject) => {
    child.once('error', reject);
    child.once('spawn', () => {
      child.off('error', reject);
      child.on('error', () => {});
      resolve();
    });
  });
}

/** bubblewrap writes `{"child-pid": N, …}` to its info descriptor once the namespaces exist. */
function readChildPid(info: Readable): Promise<number> {
  return new Promise((resolve, reject) => {
    let text = '';
    const done = (err: Error | null, pid?: number) => {
      info.off('data', onData);
      info.off('end', onEnd);
      info.off('error', onEnd);
      if (err) reject(err);
      else resolve(pid as number);
    };
    const onData = (chunk: Buffer) => {
      text += chunk.toString();
      const match = /"child-pid"\s*:\s*(\d+)/.exec(text);
      if (match) done(null, Number(match[1]));
    };
    const onEnd = () => done(new Error('the sandbox exited before it started (bubblewrap failed)'));
    info.on('data', onData);
    info.once('end', onEnd);
    info.once('error', onEnd);
  });
}

/** Every process below `pid`, children first found through /proc. */
function descendants(pid: number): number[] {
  const out: number[] = [];
  const queue = [pid];
  while (queue.length > 0) {
    const next = queue.shift() as number;
    let children: number[] = [];
    try {
      children = readFileSync(`/proc/${next}/task/${next}/children`, 'utf8')
        .trim()
        .split(/\s+/)
        .filter((s) => s !== '')
        .map(Number);
    } catch {
      // gone
    }
    out.push(...children);
    queue.push(...children);
  }
  return out;
}

function signal(pid: number, sig: NodeJS.Signals): void {
  try {
    process.kill(pid, sig);
  } catch {
    // already gone
  }
}

const SIGNAL_NAMES: Record<number, NodeJS.Signals> = {
  1: 'SIGHUP',
  2: 'SIGINT',
  3: 'SIGQUIT',
  4: 'SIGILL',
  6: 'SIGABRT',
  7: 'SIGBUS',
  8: 'SIGFPE',
  9: 'SIGKILL',
  11: 'SIGSEGV',
  13: 'SIGPIPE',
  14: 'SIGALRM',
  15: 'SIGTERM',
};

function signalName(n: number): NodeJS.Signals | null {
  return SIGNAL_NAMES[n] ?? null;
}

/** This process's hard limit from /proc/self/limits (null when unlimited or unknown). */
function ownHardLimit(name: string): number | null {
  try {
    const line = readFileSync('/proc/self/limits', 'utf8')
      .split('\n')
      .find((l) => l.startsWith(name));
    const hard = line?.slice(name.length).trim().split(/\s+/)[1];
    return hard && /^\d+$/.test(hard) ? Number(hard) : null;
  } catch {
    return null;
  }
}

/** The host's file tree as the plan needs it, read with lstat (never following links). */
function hostView(): SandboxHost {
  return {
    kind(path) {
      try {
        const info = lstatSync(path);
        if (info.isSymbolicLink()) return { link: readlinkSync(path) };
        return info.isDirectory() ? 'dir' : 'file';
      } catch {
        return null;
      }
    },
  };
}
