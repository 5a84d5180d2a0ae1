import { join } from 'node:path';
import type { Clock, FileStore, IdempotencyKeys, LogBus, RateLimiter, Stores } from '@hangar/core';
import type { BundleStore } from '../bundles/bundle-store.js';
import type { Config } from '../config.js';
import type { Gateway } from '../gateway/index.js';
import type { HttpApp } from '../http/app.js';
import type { StreamSlots } from '../http/stream-slots.js';
import type { Supervisor } from '../runners/supervisor.js';
import type { SecretService } from '../secrets/secret-service.js';
import type { AppOps } from '../services/app-ops.js';
import type { DeployService } from '../services/deploy.js';
import type { KeyService } from '../services/keys.js';
import { createRateLimitHook } from '../telemetry/rate-limit.js';
import { registerAnalyticsRoutes } from './analytics/routes.js';
import { registerAppOpsRoutes } from './apps/ops-routes.js';
import { registerAppsRoutes } from './apps/routes.js';
import { registerDeployRoutes } from './apps-deploy-routes.js';
import { registerBundleRoutes } from './bundles-routes.js';
import {
  createOwnerStorageQuota,
  type OwnerIds,
  registerFileRoutes,
  type StorageQuota,
} from './files/index.js';
import { registerKeyRoutes } from './keys-routes.js';
import { registerLogsRoutes } from './logs/routes.js';
import type { RequestWindow } from './metrics/request-window.js';
import { registerMetricsRoutes } from './metrics/routes.js';
import { registerRequestsRoutes } from './requests/routes.js';
import { registerSecretRoutes } from './secrets-routes.js';
import { registerUsageRoutes } from './usage/routes.js';

/** What the Platform API modules are built from. */
export interface PlatformApiDeps {
  config: Config;
  stores: Stores;
  supervisor: Supervisor;
  gateway: Gateway;
  keys: KeyService;
  deployer: DeployService;
  /** Scale, switch revision, rollout, delete and runner operations. */
  appOps: AppOps;
  bundles: BundleStore;
  /** Owners' secrets (`/v1/secrets`); the routes are absent without it. */
  secrets?: SecretService;
  logBus: LogBus;
  clock: Clock;
  /** Last-minute request counts for the metrics export. */
  window: RequestWindow;
  /** Open streams per key, shared with the gateway's status streams. */
  streams: StreamSlots;
  /** Where rate-limit buckets live (Redis in a cluster); default this process. */
  rateLimiter?: RateLimiter;
  /** Where flush idempotency keys live (Redis in a cluster); default this process. */
  idempotency?: IdempotencyKeys;
  /** The object store (fal uploads, bundles, and owners' files when it is S3). */
  objects?: FileStore;
  /** The uid/gid an owner's sandboxed runners run as; files the Files API creates are given to them. */
  ownerIds?: (owner: string) => OwnerIds | null;
  /** Told after the Files API changed an owner's files in the object store (refreshes runner caches). */
  filesChanged?: (owner: string) => void;
  /** Where request payloads above `limits.payload_store_bytes` live (the requests listing reads them). */
  payloadObjects?: FileStore;
}

/** The Platform API's resources shared with other paths. */
export interface PlatformApi {
  /** The per-owner storage quota every Files API write is charged to (for other storage paths too). */
  storageQuota: StorageQuota;
  close(): Promise<void>;
}

/** Registers every `/v1` resource on the HTTP app. */
export function registerPlatformApi(app: HttpApp, deps: PlatformApiDeps): PlatformApi {
  const { config, clock } = deps;
  const reads = deps.stores.reads;
  const maxRangeDays = config.limits.maxRangeDays;
  const appLookup = (owner: string, name: string) => deps.stores.apps.getApp(owner, name);
  const rate = config.limits.rateLimit;
  if (rate.requestsPerSecond > 0) {
    app.addHook(
      'onRequest',
      createRateLimitHook({
        requestsPerSecond: rate.requestsPerSecond,
        burst: rate.burst,
        clock,
        ...(deps.rateLimiter ? { limiter: deps.rateLimiter } : {}),
        applies: (request) => request.url.startsWith('/v1/'),
      }),
    );
  }

  registerKeyRoutes(app, { keyService: deps.keys });
  if (deps.secrets) registerSecretRoutes(app, { secrets: deps.secrets });
  registerBundleRoutes(app, { bundles: deps.bundles });
  registerDeployRoutes(app, { deployService: deps.deployer });
  // With S3 storage, owners' files are objects `files/<owner>/<path>`; with disk, today's folders.
  const fileObjects = config.objectStorage.kind === 's3' ? deps.objects : undefined;
  const storageQuota = createOwnerStorageQuota(config, clock, fileObjects);
  const redirectBytes = config.files.downloadRedirectBytes;
  registerFileRoutes(app, {
    ...(fileObjects
      ? {
          objects: {
            store: fileObjects,
            scratchDir: join(config.home, 'scratch'),
            ...(deps.filesChanged ? { changed: deps.filesChanged } : {}),
            redirect:
              redirectBytes > 0
                ? { overBytes: redirectBytes, expiresInS: config.files.downloadRedirectTtlS }
                : null,
          },
        }
      : {}),
    dataRoot: config.dataRoot,
    quota: storageQuota,
    ownerIds: deps.ownerIds,
    maxUploadBytes: config.limits.maxUploadBytes,
    urlFetch: {
      allowlist: [...config.files.urlAllowlist],
      timeoutMs: 60_000,
      maxBytes: config.limits.maxUploadBytes,
    },
    zip: { maxEntries: 10_000, maxTotalBytes: config.limits.maxUploadBytes * 4 },
    clock,
    listCacheBytes: config.files.listCacheBytes,
  });
  registerRequestsRoutes(app, {
    reads,
    apps: appLookup,
    clock,
    maxRangeDays,
    ...(deps.payloadObjects ? { objects: deps.payloadObjects } : {}),
  });
  registerUsageRoutes(app, {
    reads,
    clock,
    maxRangeDays,
    machineTypes: config.machineTypes,
    discounts: config.discounts,
    liveMeter: (owner, now) => deps.supervisor.liveMeter(owner, now),
  });
  registerAnalyticsRoutes(app, { reads, apps: appLookup, clock, maxRangeDays });
  registerLogsRoutes(app, {
    reads: reads.logs,
    bus: deps.logBus,
    flushLogs: () => deps.stores.flush(),
    streams: deps.streams,
    clock,
  });
  registerMetricsRoutes(app, {
    dispatcher: deps.supervisor,
    window: deps.window,
    cacheTtlMs: config.metrics.cacheTtlS * 1000,
    machineLabel: (m) => config.machineTypes[m]?.gpuLabel ?? m,
    clock,
  });
  registerAppsRoutes(app, {
    reads: reads.apps,
    dispatcher: deps.supervisor,
    clock,
    ...(deps.idempotency ? { idempotency: deps.idempotency } : {}),
  });
  registerAppOpsRoutes(app, { appOps: deps.appOps, reads: reads.apps, clock });
  // The reads belong to the stores, which close them.
  return { storageQuota, close: async () => {} };
}
