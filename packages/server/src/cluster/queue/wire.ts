import type { Clock, WorkQueue } from '@hangar/core';
import type { Config } from '../../config.js';
import type { SupervisorLogger } from '../../runners/context.js';
import type { Supervisor } from '../../runners/supervisor.js';
import { openRedis } from '../redis.js';
import { type ClusterSupervisor, createClusterSupervisor } from './cluster-supervisor.js';
import { RedisQueueSignals } from './queue-signals.js';
import { RedisWorkQueue } from './redis-work-queue.js';

/**
 * Cluster mode (`HANGAR_REDIS_URL` set): wraps this node's supervisor so queued requests go through the
 * cluster-wide queue in Redis; null in embedded mode, where the supervisor's own queues stay as they are.
 * Call `start` on the result once the gateway's request store exists.
 */
export function openClusterQueue(
  config: Pick<Config, 'redisUrl' | 'nodeId'>,
  local: Supervisor,
  deps: { clock: Clock; logger: SupervisorLogger; maxAttempts: number },
): (ClusterSupervisor & { workQueue: WorkQueue }) | null {
  const url = config.redisUrl;
  if (url === null) return null;
  const node = config.nodeId;
  const queue = new RedisWorkQueue(openRedis(url, { name: `${node}:queue` }));
  const signals = new RedisQueueSignals(
    openRedis(url, { name: `${node}:queue-pub` }),
    openRedis(url, { name: `${node}:queue-sub`, blocking: true }),
  );
  return Object.assign(createClusterSupervisor({ node, queue, signals, local, ...deps }), {
    workQueue: queue,
  });
}
