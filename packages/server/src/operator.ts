import { createReadStream } from 'node:fs';
import { OWNER_NAME_PATTERN, PlatformError, systemClock } from '@hangar/core';
import { createBundleStore } from './bundles/bundle-store.js';
import { openRedis } from './cluster/redis.js';
import { announceRevocation } from './cluster/shared/redis-revocations.js';
import { type Config, type ConfigFlags, loadConfig } from './config.js';
import { createKeyService } from './services/keys.js';
import { openFileStore } from './storage/open-store.js';
import { createPostgresStores } from './store/postgres/index.js';
import { createSqliteStores } from './store/sqlite/index.js';

/** A key as the operator commands print it. */
export interface OperatorKey {
  key_id: string;
  owner: string;
  scope: 'API' | 'ADMIN';
  name: string | null;
  created_at: string;
  revoked_at: string | null;
}

/** Local operator actions against a server home (the CLI's `keys` commands and `deploy --local`). */
export interface Operator {
  createKey(owner: string, scope: 'API' | 'ADMIN', name?: string): Promise<OperatorKey & { key: string }>;
  listKeys(owner?: string): Promise<OperatorKey[]>;
  revokeKey(keyId: string): Promise<void>;
  /** Stores a packed bundle file as `owner`'s (checked and unpacked as an upload is); returns its digest. */
  importBundle(owner: string, file: string): Promise<{ digest: string; created: boolean }>;
}

const iso = (t: number | null) => (t === null ? null : new Date(t).toISOString());

/**
 * The stores the server of `config` uses: its SQLite file (a running server may hold it: WAL allows it),
 * or the cluster's PostgreSQL database (`HANGAR_DATABASE_URL`), with no upkeep of its own.
 */
async function openOperatorStores(config: Config) {
  if (!config.postgres.url) return createSqliteStores({ path: config.dbPath });
  return createPostgresStores(config.postgres.url, {
    poolSize: 2,
    maintenanceIntervalMs: 0,
    applicationName: `hangar:${config.nodeId}:operator`,
  });
}

/**
 * Tells every node of the cluster that `keyId` is revoked (they forget it within a second). The store
 * already holds the revocation: if Redis cannot be reached, nodes still see it when their key cache
 * expires (5 s), and the command says so rather than failing.
 */
async function announceOnCluster(url: string, keyId: string): Promise<void> {
  const redis = openRedis(url, { name: 'hangar:operator' });
  redis.on('error', () => {});
  try {
    await announceRevocation(redis, keyId);
  } catch {
    process.stderr.write(
      `warning: the key is revoked, but Redis did not take the announcement; nodes drop it from their cache within 5 s\n`,
    );
  } finally {
    redis.disconnect();
  }
}

/**
 * Opens the stores of a server home (or of the cluster's database, in cluster mode), runs `fn`, and
 * closes them. `flags` adds command-line settings (`--database-url`) to the home's configuration.
 */
export async function openOperator<T>(
  home: string | undefined,
  fn: (op: Operator) => Promise<T>,
  flags: Omit<ConfigFlags, 'home'> = {},
): Promise<T> {
  const config = loadConfig({ ...flags, ...(home ? { home } : {}) }, process.env, process.cwd());
  const stores = await openOperatorStores(config);
  const keys = createKeyService({ keys: stores.keys, clock: systemClock });
  const bundles = createBundleStore({
    root: config.bundlesDir,
    objects: openFileStore(config.objectStorage),
    limits: config.limits.bundle,
    apps: stores.apps,
    clock: systemClock,
  });
  const op: Operator = {
    async createKey(owner, scope, name) {
      const created = await keys.createKey(owner, scope, name ?? null);
      const r = created.record;
      return {
        key_id: r.keyId,
        owner,
        scope,
        name: r.name,
        created_at: iso(r.createdAt)!,
        revoked_at: null,
        key: created.key,
      };
    },
    async listKeys(owner) {
      return (await keys.listKeys(owner)).map((k) => ({
        key_id: k.keyId,
        owner: k.owner,
        scope: k.scope,
        name: k.name,
        created_at: iso(k.createdAt)!,
        revoked_at: iso(k.revokedAt),
      }));
    },
    async revokeKey(keyId) {
      await keys.revokeKey(null, keyId);
      if (config.redisUrl) await announceOnCluster(config.redisUrl, keyId);
    },
    async importBundle(owner, file) {
      if (!new RegExp(OWNER_NAME_PATTERN).test(owner))
        throw new PlatformError('OWNER_INVALID', `Invalid owner name "${owner}"`);
      const stored = await bundles.put(owner, createReadStream(file));
      return { digest: stored.digest, created: stored.created };
    },
  };
  try {
    return await fn(op);
  } finally {
    await stores.close();
  }
}
