import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { AppManifest } from '@hangar/core';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { json, makeAppDir, until } from '../../runners/supervisor.test-helper.js';
import { type RedisTestServer, redisMissing, startRedis } from '../../test-services/redis.test-helper.js';
import { openRedis } from '../redis.js';
import {
  accepted,
  CountingRequests,
  deployOn,
  startNode,
  type TestNode,
} from './cluster-queue.test-helper.js';
import { RedisWorkQueue } from './redis-work-queue.js';

describe.skipIf(redisMissing !== null)(
  'cluster queue across two nodes (real redis-server, real runners)',
  () => {
    let server: RedisTestServer;
    let requests: CountingRequests;
    let manifests: Map<string, AppManifest>;
    let a: TestNode;
    let b: TestNode;
    let app: { dir: string; cleanup: () => void };
    let dataRoot: string;

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
      manifests = new Map();
      app = makeAppDir();
      dataRoot = mkdtempSync(join(tmpdir(), 'hangar-cq-'));
      a = await startNode('node-a', server.url, requests, dataRoot, manifests);
      b = await startNode('node-b', server.url, requests, dataRoot, manifests);
    });
    afterEach(async () => {
      await Promise.all([a.sup.close(2000), b.sup.close(2000)]);
      app.cleanup();
      rmSync(dataRoot, { recursive: true, force: true });
    });

    it('runs a request accepted by a node without the app on the node that has a free runner, recorded once', async () => {
      await deployOn(b, app.dir, 'solo', manifests);
      const req = await accepted(requests, 'solo', { sleep_ms: 50 });
      const result = await a.sup.dispatch(req);
      expect(result.statusCode).toBe(200);
      expect(result.recorded).toBe(true);
      expect(b.sup.runners('alice', 'solo').map((r) => r.runnerId)).toContain(json(result.body).runner);
      const rec = await requests.get(req.requestId);
      expect(rec).toMatchObject({ status: 'COMPLETED', statusCode: 200, attempts: 1 });
      expect(requests.completions.get(req.requestId)).toBe(1);
    });

    it('orders by priority then acceptance, with positions seen alike from every node', async () => {
      await deployOn(b, app.dir, 'prio', manifests);
      const blocker = a.sup.dispatch(await accepted(requests, 'prio', { sleep_ms: 600 }));
      await until(
        async () => (await b.sup.queuePosition('none')) === null && b.sup.stats()[0]!.inFlight === 1,
      );
      const t = Date.now();
      const order: string[] = [];
      const low = await accepted(
        requests,
        'prio',
        {},
        { priority: 'low', sentAt: t + 1, onStart: () => order.push('low') },
      );
      const later = await accepted(
        requests,
        'prio',
        {},
        { sentAt: t + 3, onStart: () => order.push('later') },
      );
      const first = await accepted(
        requests,
        'prio',
        {},
        { sentAt: t + 2, onStart: () => order.push('first') },
      );
      const all = [a.sup.dispatch(low), b.sup.dispatch(later), a.sup.dispatch(first)];
      await until(async () => (await a.sup.queuePosition(low.requestId)) === 2);
      for (const node of [a, b]) {
        expect(await node.sup.queuePosition(first.requestId)).toBe(0);
        expect(await node.sup.queuePosition(later.requestId)).toBe(1);
        expect(await node.sup.queuePosition(low.requestId)).toBe(2);
      }
      await Promise.all([blocker, ...all]);
      expect(order).toEqual(['first', 'later', 'low']);
    });

    it('cancels and flushes from a node that did not accept the requests', async () => {
      await deployOn(b, app.dir, 'cxl', manifests);
      const blocker = a.sup.dispatch(await accepted(requests, 'cxl', { sleep_ms: 600 }));
      const [x, y, z] = [
        await accepted(requests, 'cxl', {}),
        await accepted(requests, 'cxl', {}),
        await accepted(requests, 'cxl', {}),
      ];
      const [px, py, pz] = [x, y, z].map((r) => a.sup.dispatch(r));
      await until(async () => (await b.sup.queuePosition(z.requestId)) !== null);
      expect(await b.sup.cancelQueued(x.requestId)).toBe(true);
      expect(await b.sup.cancelQueued(x.requestId)).toBe(false);
      expect(await px!).toMatchObject({ cancelled: true, statusCode: 499, recorded: true });
      expect(await requests.get(x.requestId)).toMatchObject({ status: 'COMPLETED', cancelled: true });
      expect((await b.sup.flushQueue('alice', 'cxl')).sort()).toEqual([y.requestId, z.requestId].sort());
      expect((await py!).cancelled).toBe(true);
      expect((await pz!).cancelled).toBe(true);
      expect((await blocker).statusCode).toBe(200);
      for (const r of [x, y, z]) expect(requests.completions.get(r.requestId)).toBe(1);
    });

    it('ends what waits for a removed app with 404, recorded once', async () => {
      await deployOn(b, app.dir, 'gone', manifests);
      const blocker = a.sup.dispatch(await accepted(requests, 'gone', { sleep_ms: 600 }));
      await until(() => b.sup.stats()[0]!.inFlight === 1);
      const req = await accepted(requests, 'gone', {});
      const pending = a.sup.dispatch(req);
      await until(async () => (await b.sup.queuePosition(req.requestId)) === 0);
      await b.sup.remove('alice', 'gone');
      expect(await pending).toMatchObject({ statusCode: 404, recorded: true });
      expect(requests.completions.get(req.requestId)).toBe(1);
      expect((await blocker).statusCode).toBe(200);
    });

    it('signals a running request on the node that runs it, when cancelled on another', async () => {
      await deployOn(b, app.dir, 'stop', manifests);
      const req = await accepted(requests, 'stop', { sleep_ms: 5000 });
      const pending = a.sup.dispatch(req);
      await until(() => b.sup.stats()[0]!.inFlight === 1);
      expect(await a.sup.cancelRunning(req.requestId)).toBe(true);
      expect(json((await pending).body).cancelled).toBe(true);
    });

    it('ends a request still queued at its start deadline with fal user timeout', async () => {
      await deployOn(b, app.dir, 'late', manifests);
      const blocker = a.sup.dispatch(await accepted(requests, 'late', { sleep_ms: 800 }));
      await until(() => b.sup.stats()[0]!.inFlight === 1);
      const req = await accepted(requests, 'late', {}, { startDeadline: Date.now() + 200 });
      const result = await a.sup.dispatch(req);
      expect(result.statusCode).toBe(504);
      expect(result.headers['x-fal-request-timeout-type']).toBe('user');
      expect(result.errorClass).toBe('start_timeout');
      await blocker;
    });

    it('runs a request again on the other node when its claimer is cut off mid-request, recorded once', async () => {
      await deployOn(a, app.dir, 'lost', manifests);
      await deployOn(b, app.dir, 'lost', manifests);
      const observer = new RedisWorkQueue(openRedis(server.url, { name: 'test:observer' }));
      // One node's runner is held by a long request; the request under test goes to the other one.
      const hold = a.sup.dispatch(await accepted(requests, 'lost', { sleep_ms: 1500 }));
      const busy = (n: TestNode) => n.sup.stats()[0]!.inFlight === 1;
      await until(() => busy(a) || busy(b));
      const req = await accepted(requests, 'lost', { sleep_ms: 2500 });
      const pending = a.sup.dispatch(req);
      await until(() => busy(a) && busy(b));
      const st = await observer.state(req.requestId);
      if (st.state !== 'claimed') throw new Error('not claimed');
      const [cut, survivor] = st.node === a.id ? [a, b] : [b, a];
      // The claimer is cut off from Redis (a partition, or a frozen node): it can neither renew nor complete.
      for (const r of cut.redis) r.disconnect(false);
      const t0 = Date.now();
      const result = cut === a ? await waitRecorded(req.requestId) : outcome(await pending);
      expect(Date.now() - t0).toBeLessThan(15_000);
      expect(result.statusCode).toBe(200);
      expect(survivor.sup.runners('alice', 'lost').map((r) => r.runnerId)).toContain(result.runner);
      // The cut-off node's runner finishes too, but its completion is refused: the request is recorded once.
      await new Promise((r) => setTimeout(r, 2000));
      expect(requests.completions.get(req.requestId)).toBe(1);
      expect(await requests.get(req.requestId)).toMatchObject({
        status: 'COMPLETED',
        statusCode: 200,
        attempts: 2,
      });
      await observer.close();
      // The cut-off node's waiters hear nothing more; it rejects them when it closes.
      for (const p of [hold, pending]) p.catch(() => {});
    });

    it('ends a lost request that may not be retried as a connection error, recorded once', async () => {
      await deployOn(b, app.dir, 'once', manifests);
      const req = await accepted(requests, 'once', { sleep_ms: 2500 }, { noRetry: true });
      const pending = a.sup.dispatch(req);
      await until(() => b.sup.stats()[0]!.inFlight === 1);
      for (const r of b.redis) r.disconnect(false);
      const result = await pending;
      expect(result).toMatchObject({ statusCode: 503, errorClass: 'connection', recorded: true });
      await new Promise((r) => setTimeout(r, 2000));
      expect(requests.completions.get(req.requestId)).toBe(1);
      expect(await requests.get(req.requestId)).toMatchObject({
        status: 'COMPLETED',
        statusCode: 503,
        attempts: 1,
      });
    });

    function outcome(r: { statusCode: number; body: Buffer }): { statusCode: number; runner: string } {
      return { statusCode: r.statusCode, runner: json(r.body).runner };
    }

    /** The recorded outcome of a request, once the store has it. */
    async function waitRecorded(id: string): Promise<{ statusCode: number; runner: string }> {
      const rec = await until(async () => {
        const r = await requests.get(id);
        return r?.status === 'COMPLETED' ? r : null;
      }, 15_000);
      const stored = await requests.getResult(id);
      return { statusCode: rec.statusCode!, runner: json(stored!.body).runner };
    }
  },
);
