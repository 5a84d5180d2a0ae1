import type { RunnerDriver } from '@hangar/core';
import type { LocalGpus } from '../gpus/placement.js';
import type { RunnerIsolation } from '../sandbox/index.js';
import { createContainerRunnerDriver } from './driver.js';

export { createContainerRunnerDriver } from './driver.js';

/**
 * The server's runner driver: the isolation's own, wrapped in the container driver when a container
 * CLI is configured (image apps then run as containers; bundled apps stay on the isolation's driver).
 */
export function withContainers(opts: {
  isolation: RunnerIsolation;
  containerCli: string | null;
  /** Server-private folder for the containers' env files. */
  runDir: string;
  gpus: LocalGpus | null;
}): RunnerDriver {
  const { isolation } = opts;
  if (opts.containerCli === null) return isolation.driver;
  return createContainerRunnerDriver({
    cli: opts.containerCli,
    inner: isolation.driver,
    runDir: opts.runDir,
    gpus: opts.gpus,
    identities: isolation.mode === 'sandbox' ? isolation.identities : null,
    fallbackUser: unprivilegedUser(),
  });
}

/** This server's own uid:gid, unless it is root: then `nobody` (65534), so no container runs as root. */
function unprivilegedUser(): string {
  const uid = process.getuid?.() ?? 0;
  const gid = process.getgid?.() ?? 0;
  return uid === 0 ? '65534:65534' : `${uid}:${gid}`;
}
