import { readFileSync } from 'node:fs';
import { hostname } from 'node:os';
import type {
  AppLiveStats,
  Clock,
  ClusterMembership,
  FileStore,
  IdSource,
  NodeAppLoad,
  NodeCapacity,
  Stores,
} from '@hangar/core';
import type { Redis } from 'ioredis';
import { registerNodeRoutes } from '../api/nodes/routes.js';
import type { Config } from '../config.js';
import type { HttpApp } from '../http/app.js';
import type { LocalGpus } from '../runners/gpus/index.js';
import type { Supervisor } from '../runners/supervisor.js';
import { createLocalMembership } from './local-membership.js';
import { type AgentLogger, createNodeAgent, type NodeAgent, type NodeAgentDeps } from './node-agent.js';
import { readNodesView } from './node-view.js';
import type { DemandSource } from './placement.js';
import { type ReadinessCheck, withTimeout } from './readiness.js';
import { openRedis } from './redis.js';
import { createRedisMembership } from './redis-membership.js';

const VERSION = (
  JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as { version: string }
).version;

/** A readiness check waits this long for an engine before it fails. */
const READY_CHECK_MS = 2000;

/** What the node joins with once the rest of the server is built. */
export interface ClusterStartDeps {
  http: HttpApp;
  stores: Stores;
  supervisor: Supervisor;
  gpus: LocalGpus | null;
  objects: FileStore;
  clock: Clock;
  ids: IdSource;
  publicUrl: () => string;
  /** Whether the store's migrations are applied (SQLite applies them when it opens). */
  migrationsApplied?: () => Promise<boolean>;
  /** Retention (the store's maintenance), run by the leader. */
  retention?: () => Promise<void>;
  /** Where the leader reads each app's demand (default: the nodes' heartbeats). */
  demand?: DemandSource;
  /** The leader's further work for dead nodes (cluster/leader-duties.ts). */
  deadNodeDuty?: NodeAgentDeps['deadNodeDuty'];
}

/** This server as a node: the embedded one (one node, its own leader) or one of a cluster over Redis. */
export interface ClusterNode {
  mode: 'embedded' | 'cluster';
  /** For `createSupervisor`: the runners the leader placed here (cluster mode only). */
  supervisorDeps: { placementFloor?: (owner: string, app: string) => number };
  /** Registers `/healthz`, `/readyz` and `/v1/nodes` and starts the heartbeats. */
  start(deps: ClusterStartDeps): void;
  /**
   * After `start`, before any runner starts: registers this incarnation (cluster mode) and answers where
   * an earlier incarnation's orphaned runners end (its last heartbeat), or null.
   */
  join(): Promise<number | null>;
  /** Stops taking placement, marks the node draining and gives up the lease (SIGTERM). */
  drain(): Promise<void>;
  /** Deregisters the node and closes its Redis connection. */
  close(): Promise<void>;
}

/** Opens this node's membership: Redis when `HANGAR_REDIS_URL` is set, else in-process. */
export function createClusterNode(
  config: Config,
  logger: AgentLogger & { fatal(obj: object, msg?: string): void },
): ClusterNode {
  const redisUrl = config.cluster.redisUrl;
  const redis: Redis | null = redisUrl
    ? openRedis(redisUrl, { name: `hangar:${config.nodeId}:membership` })
    : null;
  redis?.on('error', () => {});
  const membership: ClusterMembership = redis ? createRedisMembership(redis) : createLocalMembership();
  const mode = redis ? 'cluster' : 'embedded';
  let agent: NodeAgent | null = null;
  let draining = false;

  return {
    mode,
    supervisorDeps: redis ? { placementFloor: (owner, app) => agent?.targetFor(owner, app) ?? 0 } : {},
    start(deps) {
      const startedAt = deps.clock();
      const s = config.cluster;
      agent = createNodeAgent({
        membership,
        self: {
          nodeId: config.nodeId,
          host: hostname(),
          // A getter: with port 0 the URL is known only once the server listens.
          get url() {
            return deps.publicUrl();
          },
          version: VERSION,
          startedAt,
        },
        capacity: () => capacityOf(config, deps.gpus),
        load: () => loadOf(deps.supervisor.stats(), config),
        timing: {
          leaseMs: s.leaseMs,
          renewMs: s.renewMs,
          deadAfterMs: s.deadAfterMs,
          retentionIntervalMs: s.retentionIntervalS * 1000,
        },
        now: deps.clock,
        logger,
        deadNodes: {
          runners: deps.stores.runners,
          meter: deps.stores.meter,
          events: deps.stores.events,
          ids: deps.ids,
        },
        ...(deps.retention ? { retention: deps.retention } : {}),
        ...(deps.demand ? { demand: deps.demand } : {}),
        ...(deps.deadNodeDuty ? { deadNodeDuty: deps.deadNodeDuty } : {}),
        // Fail-stop: the leader already ended this incarnation's runners and closed their metering.
        onEvicted: () => {
          logger.fatal(
            { node: config.nodeId },
            'declared dead by the cluster; exiting so a restart rejoins cleanly',
          );
          process.exit(70);
        },
      });
      const checks: ReadinessCheck[] = [
        { name: 'store', check: async () => (await deps.stores.runners.findRunner('', '', '')) === null },
        { name: 'object_storage', check: async () => (await deps.objects.head('.readyz')) !== undefined },
        { name: 'migrations', check: deps.migrationsApplied ?? (async () => true) },
        { name: 'draining', check: async () => !draining },
      ];
      if (redis) checks.splice(1, 0, { name: 'redis', check: async () => (await redis.ping()) === 'PONG' });
      registerNodeRoutes(deps.http, {
        nodeId: config.nodeId,
        operatorOwner: config.owner,
        retryAfterS: Math.max(1, Math.ceil(s.renewMs / 1000)),
        readiness: checks.map((c) => withTimeout(c, READY_CHECK_MS)),
        view: () =>
          readNodesView({
            membership,
            runners: deps.stores.runners,
            mode,
            selfNodeId: config.nodeId,
            deadAfterMs: s.deadAfterMs,
            now: deps.clock,
          }),
      });
      // Heartbeats begin once the node listens: a node still starting is not one to place work on.
      const started = agent;
      if (deps.http.server.listening) started.start();
      // (on the next turn: the composition root learns its URL once `listen` resolves)
      else deps.http.server.once('listening', () => setImmediate(() => started.start()));
    },
    async join() {
      return redis && agent ? agent.join() : null;
    },
    async drain() {
      draining = true;
      await agent?.drain();
    },
    async close() {
      await agent?.close();
      redis?.disconnect();
    },
  };
}

/** This node's capacity: machine types whose GPUs it has, its runner slots and its GPU inventory. */
function capacityOf(config: Config, gpus: LocalGpus | null): NodeCapacity {
  const cards = gpus?.allocator.cards.length ?? 0;
  return {
    machineTypes: Object.entries(config.machineTypes)
      .filter(([, t]) => (t.gpus ?? 0) <= cards)
      .map(([name]) => name),
    runnerSlots: config.cluster.runnerSlots,
    gpus: cards,
    freeGpus: gpus?.allocator.free().length ?? 0,
  };
}

/**
 * Per-app load from the supervisor's stats; runners draining or ended do not count. Stats name the
 * machine type by its GPU label (Prometheus'), mapped back to the first type of that label.
 */
function loadOf(stats: AppLiveStats[], config: Config): { runners: number; apps: NodeAppLoad[] } {
  const typeOf = (label: string) =>
    Object.entries(config.machineTypes).find(([name, t]) => name === label || t.gpuLabel === label)?.[0] ??
    label;
  let total = 0;
  const apps = stats.map((s) => {
    const { draining = 0, terminating = 0, terminated = 0, ...rest } = s.runners;
    const runners = Object.values(rest).reduce((a, b) => a + b, 0);
    total += runners + draining + terminating;
    return {
      owner: s.owner,
      app: s.app,
      machineType: typeOf(s.machineType),
      queued: s.queueSize,
      inFlight: s.inFlight,
      runners,
    };
  });
  return { runners: total, apps };
}
