import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { AppManifest } from '@hangar/core';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { gatewayError } from '../../gateway/gateway-errors.test-helper.js';
import { createTestKey, putTestApp, startTestServer, type TestServer } from '../../gateway/test-server.js';
import { createLogBus } from '../../runners/log-bus.js';
import { makeAppDir, until } from '../../runners/supervisor.test-helper.js';
import { createMemoryStores, type MemoryStores } from '../../store/memory/index.js';
import { type RedisTestServer, redisMissing, startRedis } from '../../test-services/redis.test-helper.js';
import { openRedis } from '../redis.js';
import { deployOn, startNode, type TestNode } from './cluster-queue.test-helper.js';

type Body = Record<string, unknown>;
/** fal's answer to a queue submit: the request's id and its URLs on the accepting node. */
type Queued = Body & { request_id: string; status_url: string; response_url: string; cancel_url: string };

describe.skipIf(redisMissing !== null)(
  'cluster queue behind two gateways (real redis-server, real runners)',
  () => {
    let redis: RedisTestServer;
    let stores: MemoryStores;
    let nodes: TestNode[];
    let servers: TestServer[];
    let key: string;
    let app: { dir: string; cleanup: () => void };
    let dataRoot: string;
    const manifests = new Map<string, AppManifest>();

    beforeAll(async () => {
      redis = await startRedis();
    });
    afterAll(async () => {
      await redis?.close();
    });
    beforeEach(async () => {
      const admin = openRedis(redis.url, { name: 'test:admin' });
      await admin.flushall();
      admin.disconnect();
      // The stores every node shares (PostgreSQL's role in a cluster).
      stores = createMemoryStores();
      app = makeAppDir();
      dataRoot = mkdtempSync(join(tmpdir(), 'hangar-cg-'));
      nodes = [
        await startNode('gw-a', redis.url, stores.requests, dataRoot, manifests),
        await startNode('gw-b', redis.url, stores.requests, dataRoot, manifests),
      ];
      servers = [];
      for (const node of nodes)
        servers.push(await startTestServer({ stores, dispatcher: node.sup, logBus: createLogBus() }));
      key = await createTestKey(stores.keys, 'alice');
      await putTestApp(stores.apps, 'alice', 'gw', { auth_mode: 'shared', routes: ['/'] });
      // Only node b runs the app.
      await deployOn(nodes[1]!, app.dir, 'gw', manifests);
    });
    afterEach(async () => {
      for (const s of servers) await s.close();
      await Promise.all(nodes.map((n) => n.sup.close(2000)));
      app.cleanup();
      rmSync(dataRoot, { recursive: true, force: true });
    });

    const auth = () => ({ authorization: `Key ${key}`, 'content-type': 'application/json' });
    const submit = async (node: number, input: unknown): Promise<Queued> => {
      const res = await fetch(`${servers[node]!.url}/queue/alice/gw`, {
        method: 'POST',
        headers: auth(),
        body: JSON.stringify(input),
      });
      expect(res.status).toBe(200);
      return (await res.json()) as Queued;
    };
    /** A request's URL on another node's gateway. */
    const on = (node: number, url: unknown) => String(url).replace(servers[0]!.url, servers[node]!.url);
    const status = async (url: string): Promise<Body> =>
      (await (await fetch(url, { headers: auth() })).json()) as Body;

    it('answers status, position and result of a request accepted by another node', async () => {
      const blocker = await submit(0, { sleep_ms: 800 });
      await until(async () => (await status(on(1, blocker['status_url'])))['status'] === 'IN_PROGRESS');
      const queued = await submit(0, { n: 2 });
      expect(queued['queue_position']).toBe(0);
      const second = await submit(0, { n: 3 });
      expect(second['queue_position']).toBe(1);
      expect(await status(on(1, second['status_url']))).toMatchObject({
        status: 'IN_QUEUE',
        queue_position: 1,
      });
      expect(await status(on(1, queued['status_url']))).toMatchObject({
        status: 'IN_QUEUE',
        queue_position: 0,
      });
      await until(async () => (await status(on(1, second['status_url'])))['status'] === 'COMPLETED', 15_000);
      for (const node of [0, 1]) {
        const res = await fetch(on(node, second['response_url']), { headers: auth() });
        expect(res.status).toBe(200);
        const body = (await res.json()) as Body;
        expect(body['body']).toEqual({ n: 3 });
        expect(nodes[1]!.sup.runners('alice', 'gw').map((r) => r.runnerId)).toContain(body['runner']);
      }
      // The accepting node saw the completion too (its live entry, not only the store).
      expect(await status(second['status_url'])).toMatchObject({ status: 'COMPLETED' });
    });

    it('cancels on one node a request queued by another', async () => {
      const blocker = await submit(0, { sleep_ms: 800 });
      await until(async () => (await status(on(1, blocker['status_url'])))['status'] === 'IN_PROGRESS');
      const queued = await submit(0, {});
      const cancel = await fetch(on(1, queued['cancel_url']), { method: 'PUT', headers: auth() });
      expect(cancel.status).toBe(202);
      await until(async () => (await status(queued['status_url']))['status'] === 'COMPLETED');
      const res = await fetch(String(queued['response_url']), { headers: auth() });
      expect(res.status).toBe(499);
      expect(await stores.requests.get(String(queued['request_id']))).toMatchObject({ cancelled: true });
    });

    it("answers 503 QUEUE_UNAVAILABLE in fal's envelope with Retry-After while Redis does not answer", async () => {
      const blocker = await submit(0, { sleep_ms: 1500 });
      await until(async () => (await status(on(1, blocker['status_url'])))['status'] === 'IN_PROGRESS');
      const queued = await submit(0, {});
      redis.freeze();
      try {
        const res = await fetch(on(1, queued['status_url']), { headers: auth() });
        expect(res.headers.get('retry-after')).toBe('2');
        const seen = await gatewayError(res);
        expect(seen).toMatchObject({ status: 503, code: 'QUEUE_UNAVAILABLE' });
        expect(JSON.stringify(seen.body)).not.toContain('127.0.0.1');
      } finally {
        redis.thaw();
      }
      await until(async () => (await status(queued['status_url']))['status'] === 'COMPLETED', 15_000);
    });

    it('relays a sync call to the node with a free runner when this one has none', async () => {
      const res = await fetch(`${servers[0]!.url}/run/alice/gw`, {
        method: 'POST',
        headers: auth(),
        body: JSON.stringify({ x: 1 }),
      });
      expect(res.status).toBe(200);
      const body = (await res.json()) as Body;
      expect(body['body']).toEqual({ x: 1 });
      expect(nodes[1]!.sup.runners('alice', 'gw').map((r) => r.runnerId)).toContain(body['runner']);
    });
  },
);
