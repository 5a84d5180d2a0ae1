import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { AppManifest } from '@hangar/core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  accepted,
  CountingRequests,
  deployOn,
  startNode,
  type TestNode,
} from '../../cluster/queue/cluster-queue.test-helper.js';
import type { HttpApp } from '../../http/app.js';
import { makeAppDir, until } from '../../runners/supervisor.test-helper.js';
import { type RedisTestServer, redisMissing, startRedis } from '../../test-services/redis.test-helper.js';
import { addKey, openTestDb, type TestDb, testApp } from '../apps/testing/harness.test-helper.js';
import { createRequestWindow } from './request-window.js';
import { registerMetricsRoutes } from './routes.js';

// The metrics route of a cluster node: its queue size is the app's cluster-wide queue in Redis, the same
// number on every node that runs the app, whichever node accepted the requests. Two real nodes (real
// runners, a real redis-server); node A accepts, node B runs and serves the scrape.

describe.skipIf(redisMissing !== null)('GET /v1/serverless/metrics on a cluster node', () => {
  let server: RedisTestServer;
  let a: TestNode;
  let b: TestNode;
  let t: TestDb;
  let http: HttpApp;
  let alice: string;
  let app: { dir: string; cleanup: () => void };
  let dataRoot: string;
  let cleanup = async () => {};

  beforeAll(async () => {
    server = await startRedis();
    const requests = new CountingRequests(Date.now, 65_536);
    const manifests = new Map<string, AppManifest>();
    app = makeAppDir();
    dataRoot = mkdtempSync(join(tmpdir(), 'hangar-metrics-cluster-'));
    a = await startNode('node-a', server.url, requests, dataRoot, manifests);
    b = await startNode('node-b', server.url, requests, dataRoot, manifests);
    await deployOn(b, app.dir, 'busy', manifests);
    t = openTestDb();
    alice = addKey(t.db, 'alice').auth;
    http = testApp(t.db);
    registerMetricsRoutes(http, { dispatcher: b.sup, window: createRequestWindow(), cacheTtlMs: 0 });
    // One request holds B's only runner; two more wait in the cluster queue, accepted by A.
    const held = [a.sup.dispatch(await accepted(requests, 'busy', { sleep_ms: 3000 }))];
    await until(() => b.sup.stats()[0]?.inFlight === 1);
    for (let i = 0; i < 2; i++) held.push(a.sup.dispatch(await accepted(requests, 'busy', {})));
    cleanup = async () => {
      await Promise.all(held);
    };
  }, 60_000);
  afterAll(async () => {
    await cleanup();
    await http?.close();
    await Promise.all([a?.sup.close(2000), b?.sup.close(2000)]);
    t?.close();
    app?.cleanup();
    if (dataRoot) rmSync(dataRoot, { recursive: true, force: true });
    await server?.close();
  });

  it("counts the cluster queue's waiting requests, accepted by another node", async () => {
    const line = async () =>
      (
        await http.inject({
          method: 'GET',
          url: '/v1/serverless/metrics',
          headers: { authorization: alice },
        })
      ).body
        .split('\n')
        .find((l) => l.startsWith('fal_app_queue_size{application="alice/busy"}'));
    // B's view of the queue's length refreshes every 250 ms.
    await until(async () => (await line()) === 'fal_app_queue_size{application="alice/busy"} 2');
    expect(b.sup.stats()[0]).toMatchObject({ queueSize: 2, inFlight: 1 });
  });
});
