import type { Clock } from '@hangar/core';
import type { Config } from '../../config.js';
import { createStorageQuota, type StorageLimits, type StorageQuota } from './quota.js';
import { measureTree } from './usage-walk.js';

/** How long a measured usage is trusted before the owner's tree is walked again (writes by runners). */
export const USAGE_FRESHNESS_MS = 60_000;

/** An owner's quota: the per-owner override from `storage_quotas`, else `limits.storage_quota_*`. */
export function storageLimitsFor(
  config: Pick<Config, 'limits' | 'storageQuotas'>,
  owner: string,
): StorageLimits {
  const own = Object.hasOwn(config.storageQuotas, owner) ? config.storageQuotas[owner] : undefined;
  return {
    bytes: own?.bytes ?? config.limits.storageQuotaBytes,
    files: own?.files ?? config.limits.storageQuotaFiles,
  };
}

/** The server's storage quota over the owners' data roots, as configured. */
export function createOwnerStorageQuota(
  config: Pick<Config, 'limits' | 'storageQuotas' | 'dataRoot'>,
  clock: Clock,
): StorageQuota {
  return createStorageQuota({
    limitsFor: (owner) => storageLimitsFor(config, owner),
    measure: (owner) => measureTree(config.dataRoot(owner)),
    clock,
    freshnessMs: USAGE_FRESHNESS_MS,
  });
}
