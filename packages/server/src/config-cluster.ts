// The `cluster` section of hangar.config.json (nodes, the leader's lease, placement) and the Redis URL
// that turns cluster mode on, kept apart from config-file.ts so that file stays about the whole file.
import { availableParallelism } from 'node:os';
import { type Static, Type } from 'typebox';

const int = (minimum: number) => Type.Optional(Type.Integer({ minimum }));

/** Schema of `cluster` in hangar.config.json. */
export const ClusterConfigSchema = Type.Object(
  {
    lease_ms: int(1000),
    renew_ms: int(100),
    dead_after_ms: int(1000),
    runner_slots: int(1),
    retention_interval_s: int(1),
  },
  { additionalProperties: false },
);

export type ClusterConfigFile = Static<typeof ClusterConfigSchema>;

/** Settings of this node's cluster membership (see docs/config.md, "Cluster nodes"). */
export interface ClusterSettings {
  /** `HANGAR_REDIS_URL` / `--redis-url`: the cluster's Redis; null runs the node embedded. */
  readonly redisUrl: string | null;
  /** How long the leader's lease lasts without renewal. */
  readonly leaseMs: number;
  /** How often a node sends its heartbeat and renews (or tries to take) the lease. */
  readonly renewMs: number;
  /** A node silent this long is declared dead by the leader, which closes its runners. */
  readonly deadAfterMs: number;
  /** Runners this node holds at once, as placement counts it. */
  readonly runnerSlots: number;
  /** How often the leader runs retention (the store's maintenance). */
  readonly retentionIntervalS: number;
}

/** The `cluster` settings; throws a plain Error with the problem (config.ts makes it a ConfigError). */
export function clusterSettings(
  file: ClusterConfigFile | undefined,
  redisUrl: string | null,
): ClusterSettings {
  const c = file ?? {};
  const leaseMs = c.lease_ms ?? 5000;
  const renewMs = c.renew_ms ?? 1000;
  const deadAfterMs = c.dead_after_ms ?? 5000;
  if (renewMs * 2 > leaseMs) throw new Error('cluster.renew_ms must be at most half of cluster.lease_ms');
  if (deadAfterMs < renewMs * 2)
    throw new Error('cluster.dead_after_ms must be at least twice cluster.renew_ms');
  if (redisUrl !== null && !/^rediss?:\/\//.test(redisUrl)) {
    throw new Error('HANGAR_REDIS_URL must be a redis:// or rediss:// URL');
  }
  return {
    redisUrl,
    leaseMs,
    renewMs,
    deadAfterMs,
    runnerSlots: c.runner_slots ?? Math.max(1, availableParallelism()),
    retentionIntervalS: c.retention_interval_s ?? 3600,
  };
}
