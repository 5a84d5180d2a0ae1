import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { AppManifest } from '@hangar/core';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { json, makeAppDir, until } from '../../runners/supervisor.test-helper.js';
import { type RedisTestServer, redisMissing, startRedis } from '../../test-services/redis.test-helper.js';
import { KEY_PREFIX, openRedis } from '../redis.js';
import {
  accepted,
  CountingRequests,
  deployOn,
  startNode,
  type TestNode,
} from './cluster-queue.test-helper.js';

describe.skipIf(redisMissing !== null)('cluster queue: what a lost message or lost Redis state costs', () => {
  let server: RedisTestServer;
  let requests: CountingRequests;
  let a: TestNode;
  let b: TestNode;
  let app: { dir: string; cleanup: () => void };
  let dataRoot: string;
  const manifests = new Map<string, AppManifest>();

  beforeAll(async () => {
    server = await startRedis();
  });
  afterAll(async () => {
    await server?.close();
  });
  beforeEach(async () => {
    const admin = openRedis(server.url, { name: 'test:admin' });
    await admin.flushall();
    admin.disconnect();
    requests = new CountingRequests(Date.now, 65_536);
    app = makeAppDir();
    dataRoot = mkdtempSync(join(tmpdir(), 'hangar-cr-'));
    a = await startNode('rec-a', server.url, requests, dataRoot, manifests);
    b = await startNode('rec-b', server.url, requests, dataRoot, manifests);
    await deployOn(b, app.dir, 'rec', manifests);
  });
  afterEach(async () => {
    await Promise.all([a.sup.close(2000), b.sup.close(2000)]);
    app.cleanup();
    rmSync(dataRoot, { recursive: true, force: true });
  });

  it('resolves a waiter from the request store when the completion message never arrives', async () => {
    // The accepting node stops hearing messages (its subscription is gone); the queue itself still answers.
    a.redis[2]!.disconnect(false);
    const req = await accepted(requests, 'rec', { n: 1 });
    const result = await a.sup.dispatch(req);
    expect(result).toMatchObject({ statusCode: 200, recorded: true });
    expect(json(result.body).body).toEqual({ n: 1 });
    expect(requests.completions.get(req.requestId)).toBe(1);
  });

  it('drains on SIGTERM: the running request is recorded by its node, the queued ones run on the other', async () => {
    await deployOn(a, app.dir, 'rec', manifests);
    const running = await accepted(requests, 'rec', { sleep_ms: 800 });
    const first = a.sup.dispatch(running);
    // A closing node rejects its own waiters (the request stays the cluster's): the test reads the store.
    first.catch(() => {});
    await until(() => b.sup.stats()[0]!.inFlight === 1 || a.sup.stats()[0]!.inFlight === 1);
    const [leaving, staying] = b.sup.stats()[0]!.inFlight === 1 ? [b, a] : [a, b];
    const busy = staying.sup.dispatch(await accepted(requests, 'rec', { sleep_ms: 800 }));
    await until(() => staying.sup.stats()[0]!.inFlight === 1);
    const queued = await accepted(requests, 'rec', { n: 3 });
    const later = staying.sup.dispatch(queued);
    await leaving.sup.close(5000);
    expect(requests.completions.get(running.requestId)).toBe(1);
    expect(await requests.get(running.requestId)).toMatchObject({ status: 'COMPLETED', statusCode: 200 });
    const result = await later;
    expect(json(result.body).body).toEqual({ n: 3 });
    expect(staying.sup.runners('alice', 'rec').map((r) => r.runnerId)).toContain(json(result.body).runner);
    expect(requests.completions.get(queued.requestId)).toBe(1);
    await busy;
    if (leaving !== a) await first;
  });

  it('queues a request again when Redis lost it, and runs it once', async () => {
    const blocker = a.sup.dispatch(await accepted(requests, 'rec', { sleep_ms: 1000 }));
    await until(() => b.sup.stats()[0]!.inFlight === 1);
    const req = await accepted(requests, 'rec', { n: 2 });
    const pending = a.sup.dispatch(req);
    const admin = openRedis(server.url, { name: 'test:admin' });
    await until(async () => (await admin.exists(`${KEY_PREFIX}q:w:${req.requestId}`)) === 1);
    // Redis loses the entry (a restart without its append-only file).
    await admin.del(`${KEY_PREFIX}q:w:${req.requestId}`);
    await admin.zrem(`${KEY_PREFIX}q:app:alice/rec`, req.requestId);
    admin.disconnect();
    const result = await pending;
    expect(result.statusCode).toBe(200);
    expect(json(result.body).body).toEqual({ n: 2 });
    expect(requests.completions.get(req.requestId)).toBe(1);
    await blocker;
  });
});
