import type { RunnerSpec } from '@hangar/core';

/** Which container CLI dialect to speak; they differ in how GPUs are named. */
export type ContainerFlavor = 'docker' | 'podman';

/** Where the runner's data directory appears inside its container (`DATA_DIR`). */
export const CONTAINER_DATA_DIR = '/data';

/** Bridge network of the engine: runners get their own network namespace with outbound NAT. */
export const CONTAINER_NETWORK = 'bridge';

/** The container of a runner: one name per runner id, so stop/kill/rm need no engine id. */
export function containerName(runnerId: string): string {
  return `hangar-${runnerId.replace(/[^A-Za-z0-9_.-]/g, '_')}`;
}

/** `podman` when the CLI's file name says so, else Docker's dialect. */
export function flavorOf(cli: string): ContainerFlavor {
  return /podman[^/]*$/.test(cli) ? 'podman' : 'docker';
}

/** What a container's `create` needs beyond the spec. */
export interface ContainerPlan {
  name: string;
  flavor: ContainerFlavor;
  /** Host port on 127.0.0.1, published to the same port in the container (the app's `PORT`). */
  port: number;
  /** `uid:gid` the app runs as (never root). */
  user: string;
  /** GPU UUIDs the runner was given. */
  gpus: readonly string[];
  /** The env file (mode 0600) holding every variable but `PORT` and `DATA_DIR`. */
  envFile: string;
}

/**
 * The argv of `<cli> create …` for an image runner. Values that may be secret never appear here:
 * they are in the env file. Flags use the `--flag=value` form where a value could start with `-`.
 */
export function containerCreateArgs(spec: RunnerSpec, plan: ContainerPlan): string[] {
  if (spec.artifact.kind !== 'image') throw new Error('containerCreateArgs needs an image artifact');
  const { image, command } = spec.artifact;
  const l = spec.labels;
  const args = ['create', '--rm', `--name=${plan.name}`];
  for (const [key, value] of [
    ['owner', l.owner],
    ['app', l.app],
    ['revision', l.revisionId],
    ['runner', l.runnerId],
    ['node', l.node],
  ]) {
    args.push(`--label=hangar.${key}=${value}`);
  }
  args.push(
    `--publish=127.0.0.1:${plan.port}:${plan.port}`,
    `--env=PORT=${plan.port}`,
    `--env=DATA_DIR=${CONTAINER_DATA_DIR}`,
    `--env-file=${plan.envFile}`,
    `--volume=${spec.dataDir}:${CONTAINER_DATA_DIR}`,
    ...gpuArgs(plan),
    ...resourceArgs(spec),
    '--read-only',
    '--tmpfs=/tmp',
    '--cap-drop=ALL',
    '--security-opt=no-new-privileges',
    `--user=${plan.user}`,
    `--network=${CONTAINER_NETWORK}`,
  );
  // A manifest command replaces the image's entrypoint and cmd both, as on Kubernetes.
  if (command && command.length > 0) {
    const [entrypoint, ...rest] = command;
    args.push(`--entrypoint=${entrypoint}`, image, ...rest);
  } else {
    args.push(image);
  }
  return args;
}

function gpuArgs(plan: ContainerPlan): string[] {
  if (plan.gpus.length === 0) return [];
  // Docker reads --gpus as CSV: a list of devices must be quoted inside the value.
  if (plan.flavor === 'docker') return [`--gpus="device=${plan.gpus.join(',')}"`];
  // Podman reaches NVIDIA cards through CDI (nvidia-ctk names each card by its UUID too).
  return plan.gpus.map((uuid) => `--device=nvidia.com/gpu=${uuid}`);
}

function resourceArgs(spec: RunnerSpec): string[] {
  const out: string[] = [];
  if (spec.resources.cpu !== null) out.push(`--cpus=${spec.resources.cpu}`);
  if (spec.resources.memoryMb !== null) out.push(`--memory=${spec.resources.memoryMb}m`);
  return out;
}

/**
 * The env file's text (`KEY=VALUE` lines, read literally by both CLIs). A value holding a line break
 * cannot be written to one: refused with the variable's name, never its value.
 */
export function envFileText(env: Record<string, string>): string {
  let text = '';
  for (const [key, value] of Object.entries(env)) {
    if (/[\r\n\0]/.test(value)) {
      throw new Error(`variable ${key} holds a line break, which a container env file cannot carry`);
    }
    text += `${key}=${value}\n`;
  }
  return text;
}
