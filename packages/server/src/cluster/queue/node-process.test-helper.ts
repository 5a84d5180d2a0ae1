// A cluster node in its own process, for tests that kill one with SIGKILL: its runners on the process
// driver, its stores in the shared SQLite file (the shared database's role), its own Redis connections.
// Prints `ready` once its app has an idle runner. Env: REDIS_URL, DB_PATH, NODE_ID, APP_DIR, DATA_ROOT, APP.

import { harness, manifest, revision, until } from '../../runners/supervisor.test-helper.js';
import { createSqliteStores } from '../../store/sqlite/index.js';
import { openRedis } from '../redis.js';
import { createClusterSupervisor } from './cluster-supervisor.js';
import { RedisQueueSignals } from './queue-signals.js';
import { RedisWorkQueue } from './redis-work-queue.js';

const env = process.env;
const url = env['REDIS_URL']!;
const node = env['NODE_ID']!;
const name = env['APP']!;
const stores = createSqliteStores({ path: env['DB_PATH']! });
const h = harness({ stores, nodeId: node }, env['DATA_ROOT']!);
const m = manifest({ name });
const sup = createClusterSupervisor({
  node,
  queue: new RedisWorkQueue(openRedis(url, { name: `${node}:q` })),
  signals: new RedisQueueSignals(
    openRedis(url, { name: `${node}:pub` }),
    openRedis(url, { name: `${node}:sub`, blocking: true }),
  ),
  local: h.sup,
  clock: Date.now,
  logger: { info() {}, warn() {}, error() {} },
  maxAttempts: 10,
  leaseMs: 1000,
  pollMs: 50,
  reclaimMs: 200,
});
await sup.start({
  requests: stores.requests,
  manifestOf: async () => m,
  resultTtlMs: 60_000,
  jsonCap: 65_536,
});
const { app, rev } = revision(env['APP_DIR']!, m);
await sup.deploy(app, rev);
await until(() => sup.runners('alice', name).some((r) => r.state === 'idle'));
await stores.flush();
process.stdout.write('ready\n');
