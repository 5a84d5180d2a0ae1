import type {
  AppManifest,
  GpuRequest,
  MachineType,
  Revision,
  RunnerArtifact,
  RunnerSpec,
} from '@hangar/core';
import type { SupervisorContext } from './context.js';

/** The GPUs a runner of this manifest needs: its `gpus`, else its machine type's; null for none. */
export function gpuRequestOf(manifest: AppManifest, type: MachineType | undefined): GpuRequest | null {
  const count = manifest.gpus ?? type?.gpus ?? 0;
  return count > 0 ? { count, product: type?.gpuProduct ?? null } : null;
}

/** What the driver is handed to start runner `runnerId` of `rev`, with the owner's DATA_DIR and secrets. */
export function buildRunnerSpec(
  ctx: SupervisorContext,
  rev: Revision,
  runnerId: string,
  dataDir: string,
  secrets: Record<string, string>,
): RunnerSpec {
  const { owner, app, revisionId, manifest } = rev;
  const machineType = manifest.machine_type;
  const type = ctx.deps.machineTypes[machineType];
  return {
    runnerId,
    owner,
    app,
    revisionId,
    machineType,
    artifact: runnerArtifact(rev),
    dataDir,
    env: {
      ...manifest.env,
      HANGAR_APP: `${owner}/${app}`,
      HANGAR_RUNNER_ID: runnerId,
    },
    resources: {
      cpu: type?.cpu ?? null,
      memoryMb: type?.memoryMb ?? null,
      gpus: gpuRequestOf(manifest, type),
    },
    healthPath: manifest.health_path,
    labels: { owner, app, revisionId, runnerId, node: ctx.deps.nodeId ?? 'local' },
    placement: type?.placement ?? null,
    secrets,
  };
}

/** An image app runs its image (the bundle only carried its manifest); any other app its bundle. */
function runnerArtifact(rev: Revision): RunnerArtifact {
  const { image, command } = rev.manifest;
  if (image !== undefined) return { kind: 'image', image, command: command ?? null };
  return { kind: 'bundle', digest: rev.bundle, dir: rev.dir, command: command ?? [] };
}
