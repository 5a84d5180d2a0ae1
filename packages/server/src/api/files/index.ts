export type { OwnerIds } from './dir-handle.js';
export {
  createStorageQuota,
  type QuotaReservation,
  type StorageLimits,
  type StorageQuota,
  type StorageUsage,
} from './quota.js';
export { type FileDeps, registerFileRoutes } from './routes.js';
export { createOwnerStorageQuota, USAGE_FRESHNESS_MS } from './storage-quota.js';
export { measureTree } from './usage-walk.js';
