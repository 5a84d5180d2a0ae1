import { join } from 'node:path';
import type { FileStore, RunnerDriver } from '@hangar/core';
import type { Logger } from 'pino';
import { createKubernetesRunnerDriver } from './adapters/kubernetes/driver.js';
import type { Config } from './config.js';
import { withContainers } from './runners/container/index.js';
import { type LocalGpus, openLocalGpus } from './runners/gpus/index.js';
import type { EgressProxy } from './runners/sandbox/egress-proxy.js';
import { chooseIsolation, type RunnerIsolation, startEgressProxy } from './runners/sandbox/index.js';

/** The runner side of the composition root, as `openRunnerDriver` set it up. */
export interface RunnerSetup {
  /** The configured driver: local processes (sandboxed, trusted or in a container CLI), or Kubernetes. */
  driver: RunnerDriver;
  /** This machine's GPUs, or null when it has none. */
  gpus: LocalGpus | null;
  isolation: RunnerIsolation;
  /** The sandboxed runners' egress proxy (`runners.sandbox.egress` "proxy"), else null; closed at shutdown. */
  egress: EgressProxy | null;
}

/**
 * Part of the composition root: starts the egress proxy, finds the GPUs, chooses the isolation and
 * builds the runner driver (local, sandbox, container or Kubernetes), telling the operator what it chose.
 * `filesPort` is the file host's, the one host port a sandbox may reach besides egress.
 */
export async function openRunnerDriver(
  config: Config,
  logger: Logger,
  objects: FileStore,
  filesPort: number,
): Promise<RunnerSetup> {
  const egress =
    config.runners.sandbox.egress === 'proxy' &&
    config.runners.isolation !== 'none' &&
    config.runners.isolation !== 'trusted'
      ? await startEgressProxy({ allowlist: config.runners.sandbox.egressAllowlist, logger })
      : null;
  const gpus = await openLocalGpus(config);
  if (gpus) {
    const cards = gpus.allocator.cards.map((c) => `${c.index}: ${c.name}`);
    logger.info({ gpus: cards }, `${cards.length} GPU(s); each runner gets its own`);
  }
  const isolation = chooseIsolation({
    isolation: config.runners.isolation,
    settings: config.runners.sandbox,
    stateDir: config.sandboxDir,
    runnersStateDir: config.runnersStateDir,
    gpus,
    searchPath: config.searchPath,
    egressPort: egress?.port ?? null,
    filesPort,
  });
  const local = withContainers({
    isolation,
    containerCli: config.runners.containerCli,
    runDir: join(config.home, 'run', 'containers'),
    gpus,
  });
  const driver = configuredDriver(config, local, objects);
  if (config.runners.containerCli) logger.info(`image apps run through ${config.runners.containerCli}`);
  if (isolation.mode !== 'sandbox') await egress?.close();
  if (isolation.mode === 'sandbox') {
    logger.info('runners are sandboxed: one uid per owner, private namespaces, no network of their own');
    for (const warning of isolation.warnings) logger.warn(warning);
  } else if (isolation.mode === 'trusted') {
    logger.warn('runners are not sandboxed (runners.isolation "trusted"): owners must trust each other');
  } else {
    logger.warn(
      `single-tenant mode: only owner "${config.owner}" is served (${isolation.reason}); see docs/security.md`,
    );
  }
  return { driver, gpus, isolation, egress };
}

/** The configured runner driver: local processes (sandboxed or not), or Pods of a Kubernetes cluster. */
function configuredDriver(config: Config, local: RunnerDriver, objects: FileStore): RunnerDriver {
  if (config.runners.driver !== 'kubernetes') return local;
  return createKubernetesRunnerDriver({
    settings: config.kubernetes,
    // Bundle archives are `bundles/<hex>.tar.gz` in the object store; Pods download them by signed URL.
    bundleUrl: (digest, ttlS) =>
      objects.signedUrl(`bundles/${digest.replace(/^sha256:/, '')}.tar.gz`, { expiresInS: ttlS }),
  });
}
