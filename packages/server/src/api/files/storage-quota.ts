import type { Clock, FileStore } from '@hangar/core';
import type { Config } from '../../config.js';
import { createStorageQuota, type StorageLimits, type StorageQuota } from './quota.js';
import { tallyOwner } from './store-keys.js';
import { measureTree } from './usage-walk.js';

/** How long a measured usage is trusted before the owner's tree is walked again (writes by runners). */
export const USAGE_FRESHNESS_MS = 60_000;

/**
 * The same on object storage, where a measurement lists the owner's prefix (a request per 1,000
 * objects): between two, the Files API's own writes keep the tally current, so only writes from outside
 * (runners' published outputs) wait for the next one.
 */
export const STORE_USAGE_FRESHNESS_MS = 300_000;

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

/**
 * The server's storage quota over the owners' files, as configured: their folders on this disk, or
 * their prefixes `files/<owner>/` when `objects` (S3 storage) is given.
 */
export function createOwnerStorageQuota(
  config: Pick<Config, 'limits' | 'storageQuotas' | 'dataRoot'>,
  clock: Clock,
  objects?: FileStore,
): StorageQuota {
  return createStorageQuota({
    limitsFor: (owner) => storageLimitsFor(config, owner),
    measure: objects ? (owner) => tallyOwner(objects, owner) : (owner) => measureTree(config.dataRoot(owner)),
    clock,
    freshnessMs: objects ? STORE_USAGE_FRESHNESS_MS : USAGE_FRESHNESS_MS,
  });
}
