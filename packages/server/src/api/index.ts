import type { Clock, LogBus, Stores } from '@hangar/core';
import type { Config } from '../config.js';
import type { Gateway } from '../gateway/index.js';
import type { HttpApp } from '../http/app.js';
import type { Supervisor } from '../runners/supervisor.js';
import type { DeployService } from '../services/deploy.js';
import type { KeyService } from '../services/keys.js';
import { registerDeployRoutes } from './apps-deploy-routes.js';
import { registerFileRoutes } from './files/index.js';
import { registerKeyRoutes } from './keys-routes.js';

/** What the Platform API modules are built from. */
export interface PlatformApiDeps {
  config: Config;
  stores: Stores;
  supervisor: Supervisor;
  gateway: Gateway;
  keys: KeyService;
  deployer: DeployService;
  logBus: LogBus;
  clock: Clock;
}

/** The Platform API's resources that hold something to release at shutdown (worker threads, timers). */
export interface PlatformApi {
  close(): Promise<void>;
}

/** Registers every `/v1` resource on the HTTP app. */
export async function registerPlatformApi(app: HttpApp, deps: PlatformApiDeps): Promise<PlatformApi> {
  const { config } = deps;
  registerKeyRoutes(app, { keyService: deps.keys });
  registerDeployRoutes(app, { deployService: deps.deployer });
  registerFileRoutes(app, {
    dataRoot: config.dataRoot,
    maxUploadBytes: config.limits.maxUploadBytes,
    urlFetch: { allowlist: [...config.files.urlAllowlist], timeoutMs: 60_000, maxBytes: config.limits.maxUploadBytes },
    zip: { maxEntries: 10_000, maxTotalBytes: config.limits.maxUploadBytes * 4 },
    clock: deps.clock,
  });
  return { close: async () => {} };
}
