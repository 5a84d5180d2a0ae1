import type { AppManifest, DispatchRequest, RequestRecord, RequestStore } from '@hangar/core';
import type { Redis } from 'ioredis';
import {
  type Harness,
  harness,
  manifest,
  request,
  revision,
  until,
} from '../../runners/supervisor.test-helper.js';
import { MemoryRequestStore } from '../../store/memory/index.js';
import { openRedis } from '../redis.js';
import { type ClusterSupervisor, createClusterSupervisor } from './cluster-supervisor.js';
import type { QueueRequests } from './queue-deps.js';
import { RedisQueueSignals } from './queue-signals.js';
import { RedisWorkQueue } from './redis-work-queue.js';

/** One node of a test cluster: its own runners and Redis connections, the shared request store. */
export interface TestNode {
  id: string;
  h: Harness;
  sup: ClusterSupervisor;
  /** Its Redis connections (cut them to partition the node off). */
  redis: Redis[];
}

/** The request store the nodes share (PostgreSQL's role), counting completions per request. */
export class CountingRequests extends MemoryRequestStore {
  readonly completions = new Map<string, number>();
  override complete(...args: Parameters<MemoryRequestStore['complete']>): void {
    this.completions.set(args[0], (this.completions.get(args[0]) ?? 0) + 1);
    super.complete(...args);
  }
}

/** Starts a node over `redisUrl`, sharing `requests`, `dataRoot` (the test app's once-files) and `manifests`. */
export async function startNode(
  id: string,
  redisUrl: string,
  requests: QueueRequests,
  dataRoot: string,
  manifests: Map<string, AppManifest>,
  leaseMs = 1000,
  committed?: () => Promise<void>,
): Promise<TestNode> {
  const h = harness({ nodeId: id }, dataRoot);
  const redis = [
    openRedis(redisUrl, { name: `test:${id}:q` }),
    openRedis(redisUrl, { name: `test:${id}:pub` }),
  ];
  const sub = openRedis(redisUrl, { name: `test:${id}:sub`, blocking: true });
  redis.push(sub);
  const sup = createClusterSupervisor({
    node: id,
    queue: new RedisWorkQueue(redis[0]!),
    signals: new RedisQueueSignals(redis[1]!, sub),
    local: h.sup,
    clock: Date.now,
    logger: { info() {}, warn() {}, error() {} },
    maxAttempts: 10,
    leaseMs,
    pollMs: 50,
    reclaimMs: 200,
  });
  await sup.start({
    requests,
    manifestOf: async (owner, app) => manifests.get(`${owner}/${app}`) ?? null,
    resultTtlMs: 60_000,
    jsonCap: 65_536,
    ...(committed ? { committed } : {}),
  });
  return { id, h, sup, redis };
}

/** Deploys a single-slot app on `node` and waits for its runner. */
export async function deployOn(
  node: TestNode,
  dir: string,
  name: string,
  manifests: Map<string, AppManifest>,
): Promise<void> {
  const m = manifest({ name });
  manifests.set(`alice/${name}`, m);
  const { app, rev } = revision(dir, m);
  await node.sup.deploy(app, rev);
  await until(() => node.sup.runners('alice', name).some((r) => r.state === 'idle'));
}

/** A queued request as the gateway accepts it: recorded (with its input) before it is dispatched. */
export async function accepted(
  requests: Pick<RequestStore, 'insert'>,
  app: string,
  body: unknown,
  over: Partial<DispatchRequest> = {},
): Promise<DispatchRequest> {
  const req = request(app, body, over);
  const rec: RequestRecord = {
    requestId: req.requestId,
    owner: req.owner,
    app,
    endpointId: req.endpointId,
    callerKeyId: null,
    method: 'POST',
    mode: 'queue',
    status: 'IN_QUEUE',
    cancelled: false,
    priority: req.priority,
    sentAt: req.sentAt,
    startedAt: null,
    endedAt: null,
    statusCode: null,
    prepareMs: null,
    durationMs: null,
    runnerId: null,
    coldStart: false,
    coldBootMs: null,
    billableUnits: null,
    errorClass: null,
    attempts: 0,
    storeIo: true,
    jsonInput: null,
    jsonOutput: null,
    timeoutS: null,
    webhookUrl: null,
  };
  await requests.insert(rec, req.body);
  return req;
}
