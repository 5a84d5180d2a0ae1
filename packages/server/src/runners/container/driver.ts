import { type ChildProcess, spawn } from 'node:child_process';
import { mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import {
  type FoundRunner,
  imageReferenceProblem,
  type RunnerDriver,
  type RunnerHandle,
  type RunnerHooks,
  type RunnerLabels,
  type RunnerSpec,
} from '@hangar/core';
import { type GpuPlacement, type LocalGpus, placeGpus } from '../gpus/placement.js';
import { freePort, gpuHandle, watchChild } from '../process-driver.js';
import type { OwnerIdentities } from '../sandbox/identities.js';
import { cliReason, noSuchContainer, runCli } from './cli.js';
import { containerCreateArgs, containerName, envFileText, flavorOf } from './run-args.js';

/** What the container wrapper is configured with. */
export interface ContainerDriverOptions {
  /** `docker` or `podman` (a path, or a name on PATH): `runners.container_cli`. */
  cli: string;
  /** The driver that runs bundled apps (process or sandbox); image apps never reach it. */
  inner: RunnerDriver;
  /** Server-private folder (0700) for the short-lived env files. */
  runDir: string;
  /** This machine's GPUs (the same allocator the inner driver uses). */
  gpus?: LocalGpus | null;
  /** The sandbox's owner uids: each owner's containers run as its uid and own its data. */
  identities?: OwnerIdentities | null;
  /** The uid:gid image runners run as without owner identities (never root). */
  fallbackUser?: string;
}

/**
 * Runs image apps through a container CLI and hands bundled apps to `inner`. An image runner is one
 * container named `hangar-<runnerId>`, labelled with its runner labels (which is how `discover` finds
 * it after a restart), created with its variables in an env file that is deleted as soon as `create`
 * returned, then started attached: the attached CLI's output is the runner's log and its exit the
 * runner's exit.
 */
export function createContainerRunnerDriver(options: ContainerDriverOptions): RunnerDriver {
  const { cli, inner } = options;
  const flavor = flavorOf(cli);
  mkdirSync(options.runDir, { recursive: true, mode: 0o700 });

  async function startImage(spec: RunnerSpec, hooks: RunnerHooks, signal?: AbortSignal) {
    if (spec.artifact.kind !== 'image') throw new Error('not an image runner');
    const problem = imageReferenceProblem(spec.artifact.image);
    if (problem) throw new Error(`image ${problem}`);
    signal?.throwIfAborted();
    const placed = await placeGpus(options.gpus?.allocator ?? null, spec, hooks, signal);
    const name = containerName(spec.runnerId);
    try {
      await ensureImage(spec.artifact.image, hooks, signal);
      const port = await freePort();
      await create(spec, placed, name, port, signal);
      const child = await startAttached(name);
      watchChild(child, hooks, async () => {
        placed.release();
        // Usually gone already (--rm); one the CLI could not remove is found again by discover().
        await remove(name).catch(() => {});
      });
      hooks.onPhase('SETUP');
      const handle = containerHandle(spec.runnerId, name, port, child, placed);
      if (signal?.aborted) {
        handle.kill();
        signal.throwIfAborted();
      }
      return handle;
    } catch (err) {
      placed.release();
      if (signal?.aborted) await remove(name);
      throw err;
    }
  }

  /** `DOCKER_PULL` while the image is pulled; skipped when the engine already holds it. */
  async function ensureImage(image: string, hooks: RunnerHooks, signal?: AbortSignal) {
    const held = await runCli(cli, ['image', 'inspect', image], signal);
    signal?.throwIfAborted();
    if (held.code === 0) return;
    hooks.onPhase('DOCKER_PULL', image);
    const pulled = await runCli(cli, ['pull', image], signal);
    signal?.throwIfAborted();
    if (pulled.code !== 0) throw new Error(`could not pull image ${image}: ${cliReason(pulled)}`);
  }

  async function create(
    spec: RunnerSpec,
    placed: GpuPlacement,
    name: string,
    port: number,
    signal?: AbortSignal,
  ) {
    let user = options.fallbackUser ?? '65534:65534';
    if (options.identities) {
      const id = options.identities.forOwner(spec.owner);
      await options.identities.prepareDataDir(spec.owner, spec.dataDir);
      user = `${id.uid}:${id.gid}`;
    }
    const secrets = spec.secrets;
    const envFile = join(options.runDir, `${name}.env`);
    writeFileSync(envFile, envFileText({ ...spec.env, ...secrets, ...placed.env }), { mode: 0o600 });
    try {
      const gpus = placed.cards.map((c) => c.uuid);
      const args = containerCreateArgs(spec, { name, flavor, port, user, gpus, envFile });
      const created = await runCli(cli, args, signal);
      signal?.throwIfAborted();
      if (created.code !== 0) throw new Error(`could not create the container: ${cliReason(created)}`);
    } finally {
      // The CLI read it while creating; the values now live in the engine only.
      rmSync(envFile, { force: true });
    }
  }

  function startAttached(name: string): Promise<ChildProcess> {
    return new Promise((resolve, reject) => {
      const child = spawn(cli, ['start', '--attach', name], { stdio: ['ignore', 'pipe', 'pipe'] });
      child.once('error', reject);
      child.once('spawn', () => {
        child.off('error', reject);
        child.on('error', () => {});
        resolve(child);
      });
    });
  }

  async function remove(name: string): Promise<void> {
    const result = await runCli(cli, ['rm', '-f', name]);
    if (result.code !== 0 && !noSuchContainer(result)) {
      throw new Error(`could not remove container ${name}: ${cliReason(result)}`);
    }
  }

  function containerHandle(
    runnerId: string,
    name: string,
    port: number,
    child: ChildProcess,
    placed: GpuPlacement,
  ): RunnerHandle {
    const exited = new Promise<void>((resolve) => {
      if (child.exitCode !== null || child.signalCode !== null) resolve();
      else child.once('exit', () => resolve());
    });
    const kill = () => void runCli(cli, ['kill', name]).catch(() => {});
    return {
      runnerId,
      url: `http://127.0.0.1:${port}`,
      ref: name,
      ...gpuHandle(placed, options.gpus),
      async stop(graceMs) {
        if (child.exitCode !== null || child.signalCode !== null) return exited;
        const seconds = String(Math.max(0, Math.ceil(graceMs / 1000)));
        const stopped = await runCli(cli, ['stop', '-t', seconds, name]).catch(() => null);
        if (stopped?.code !== 0) kill();
        return exited;
      },
      kill,
    };
  }

  async function discoverContainers(node: string): Promise<FoundRunner[]> {
    const args = ['ps', '-a', '--filter', `label=hangar.node=${node}`, '--format', '{{json .}}'];
    const result = await runCli(cli, args);
    if (result.code !== 0) throw new Error(`could not list containers: ${cliReason(result)}`);
    return parsePs(result.stdout).filter((f) => f.labels.node === node);
  }

  return {
    kind: 'container',
    runsImages: true,
    start(spec, hooks, signal) {
      if (spec.artifact.kind === 'bundle') return inner.start(spec, hooks, signal);
      return startImage(spec, hooks, signal);
    },
    async discover(node) {
      const [processes, containers] = await Promise.all([inner.discover(node), discoverContainers(node)]);
      return [...processes, ...containers];
    },
    async remove(ref) {
      // Container refs are names (`hangar-…`); the inner drivers' refs are pids.
      if (ref.startsWith('hangar-')) await remove(ref);
      else await inner.remove(ref);
    },
  };
}

/**
 * `ps --format '{{json .}}'` lines as found runners: Docker prints `Names` and `Labels` as text
 * (`a=b,c=d`), Podman as an array and an object. Containers without every Hangar label are skipped.
 */
export function parsePs(text: string): FoundRunner[] {
  const out: FoundRunner[] = [];
  for (const line of text.split('\n')) {
    if (line.trim() === '') continue;
    let row: Record<string, unknown>;
    try {
      row = JSON.parse(line) as Record<string, unknown>;
    } catch {
      continue;
    }
    const names = row['Names'];
    const name = Array.isArray(names) ? String(names[0] ?? '') : String(names ?? '').split(',')[0];
    const labels = labelMap(row['Labels']);
    const found: RunnerLabels = {
      owner: labels['hangar.owner'] ?? '',
      app: labels['hangar.app'] ?? '',
      revisionId: labels['hangar.revision'] ?? '',
      runnerId: labels['hangar.runner'] ?? '',
      node: labels['hangar.node'] ?? '',
    };
    if (!name?.startsWith('hangar-') || Object.values(found).some((v) => v === '')) continue;
    out.push({ ref: name, labels: found, alive: String(row['State'] ?? '').toLowerCase() === 'running' });
  }
  return out;
}

function labelMap(value: unknown): Record<string, string> {
  if (value && typeof value === 'object') return value as Record<string, string>;
  const out: Record<string, string> = {};
  for (const pair of String(value ?? '').split(',')) {
    const eq = pair.indexOf('=');
    if (eq > 0) out[pair.slice(0, eq)] = pair.slice(eq + 1);
  }
  return out;
}
