import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { systemClock, uuidIds } from '@hangar/core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type GatewayStack, openGatewayStack } from '../../gateway/e2e-stack.test-helper.js';
import { createAppOps } from '../../services/app-ops.js';
import { describeOnBackends, openSyncedReads, type SyncedReads } from '../testing/backends.test-helper.js';
import { registerAppHistoryRoutes } from './history-routes.js';
import { registerAppOpsRoutes } from './ops-routes.js';
import { callApp, key, SERVER, until } from './testing/ops-stack.test-helper.js';

let stack: GatewayStack;
let pool: SyncedReads;
let admin: string;
let apiKey: string;
let rival: string;
let caller: string;

/** Deploys `name` with VERSION=`version` into alice; returns the new revision id. */
async function deploy(
  name: string,
  version: string,
  manifest: Record<string, unknown> = {},
): Promise<string> {
  const dir = join(stack.dir, 'src', `${name}-${version}`);
  mkdirSync(dir, { recursive: true });
  writeFileSync(join(dir, 'server.mjs'), SERVER);
  const m = {
    name,
    command: ['node', 'server.mjs'],
    machine_type: 'CPU',
    min_concurrency: 1,
    max_concurrency: 2,
    max_multiplexing: 8,
    startup_timeout: 20,
    env: { VERSION: version },
    ...manifest,
  };
  writeFileSync(join(dir, 'hangar.json'), JSON.stringify(m));
  await stack.deployDir('alice', dir);
  return (await stack.stores.apps.getApp('alice', name))!.currentRevision;
}

async function api(method: string, path: string, body?: unknown, authorization = admin) {
  const res = await fetch(`${stack.base}/v1/serverless/apps/${path}`, {
    method,
    headers: { authorization, ...(body === undefined ? {} : { 'content-type': 'application/json' }) },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  const text = await res.text();
  return { status: res.status, json: text ? JSON.parse(text) : null };
}

const call = (name: string, input: object = {}) => callApp(stack.base, caller, name, input);

const runners = async (name: string) =>
  (await api('GET', `alice/${name}/runners`)).json.runners as {
    runner_id: string;
    revision_id: string;
    state: string;
    in_flight: number;
  }[];

const events = async (name: string) =>
  (await api('GET', `alice/${name}/events?limit=1000`)).json.events as {
    category: string;
    payload: Record<string, unknown>;
  }[];

// The stack writes to SQLite; on PostgreSQL every read of the routes first mirrors that file.
describeOnBackends('app operations', (backend) => {
  beforeAll(async () => {
    stack = await openGatewayStack({
      prefix: 'hangar-appops-',
      register: async ({ http, stores, supervisor, dir }) => {
        pool = await openSyncedReads(backend, join(dir, 'hangar.db'));
        const appOps = createAppOps({
          apps: stores.apps,
          events: stores.events,
          runners: supervisor,
          clock: systemClock,
          ids: uuidIds,
          registry: stores.runners,
          materialize: async (rev) => rev,
        });
        registerAppOpsRoutes(http, { appOps, reads: pool.apps });
        // The per-app history routes, to read the events the operations record.
        registerAppHistoryRoutes(http, pool.apps, systemClock);
      },
    });
    admin = await key(stack.stores.keys, 'alice', 'ADMIN');
    apiKey = await key(stack.stores.keys, 'alice', 'API');
    caller = apiKey;
    rival = await key(stack.stores.keys, 'mallory', 'ADMIN');
  }, 60_000);

  afterAll(async () => {
    await pool?.close();
    await stack?.close();
  });

  describe('app operations over /v1/serverless/apps/{owner}/{name}', () => {
    it('refuses API keys, other owners and unknown apps before doing anything', async () => {
      await deploy('guarded', 'v1');
      expect((await api('PATCH', 'alice/guarded/scaling', { min_concurrency: 0 }, apiKey)).status).toBe(403);
      const cross = await api('PATCH', 'alice/guarded/scaling', { min_concurrency: 0 }, rival);
      expect(cross.status).toBe(403);
      expect(cross.json.error.type).toBe('authorization_error');
      expect((await api('DELETE', 'alice/guarded', undefined, rival)).status).toBe(403);
      expect((await api('GET', 'alice/guarded/runners', undefined, rival)).status).toBe(403);
      expect((await api('POST', 'alice/guarded/runners/x/kill', undefined, rival)).status).toBe(403);
      expect(
        (await api('PUT', 'alice/guarded/rollout', { revision_id: 'x', percent: 10 }, rival)).status,
      ).toBe(403);
      const missing = await api('PATCH', 'alice/nope/scaling', { min_concurrency: 0 });
      expect(missing.status).toBe(404);
      expect(missing.json.error.type).toBe('not_found');
      expect((await stack.stores.apps.getApp('alice', 'guarded'))?.currentRevision).toBeTruthy();
    });

    it('scales the live pool without a redeploy and keeps the setting', async () => {
      const rev = await deploy('scaled', 'v1');
      await until(
        () => runners('scaled'),
        (rs) => rs.some((r) => r.state === 'idle'),
      );
      const up = await api('PATCH', 'alice/scaled/scaling', {
        min_concurrency: 2,
        max_concurrency: 3,
        keep_alive: 5,
      });
      expect(up.status).toBe(200);
      expect(up.json).toMatchObject({
        min_concurrency: 2,
        max_concurrency: 3,
        keep_alive: 5,
        max_multiplexing: 8,
      });
      const two = await until(
        () => runners('scaled'),
        (rs) => rs.filter((r) => r.state === 'idle').length === 2,
      );
      expect(two.every((r) => r.revision_id === rev)).toBe(true);
      expect(await stack.stores.apps.getSettings('alice', 'scaled')).toMatchObject({
        scaling: { min_concurrency: 2, max_concurrency: 3, keep_alive: 5 },
      });
      expect((await stack.stores.apps.getApp('alice', 'scaled'))?.currentRevision).toBe(rev);
      const down = await api('PATCH', 'alice/scaled/scaling', { min_concurrency: 0, max_concurrency: 1 });
      expect(down.status).toBe(200);
      await until(
        () => runners('scaled'),
        (rs) => rs.filter((r) => r.state !== 'draining').length <= 1,
      );
      const bad = await api('PATCH', 'alice/scaled/scaling', { min_concurrency: 5 });
      expect(bad.status).toBe(400);
      expect(bad.json.error.message).toMatch(/max_concurrency \(1\) must be >= min_concurrency \(5\)/);
      expect((await api('PATCH', 'alice/scaled/scaling', {})).status).toBe(400);
      expect((await api('PATCH', 'alice/scaled/scaling', { machine_type: 'GPU' })).status).toBe(400);
      expect((await api('PATCH', 'alice/scaled/scaling', { max_multiplexing: 0 })).status).toBe(400);
      expect((await api('PATCH', 'alice/scaled/scaling', { startup_timeout: 0 })).status).toBe(400);
      const knobs = await api('PATCH', 'alice/scaled/scaling', {
        scaling_delay: 2,
        concurrency_buffer: 1,
        startup_timeout: 60,
      });
      expect(knobs.status).toBe(200);
      expect(knobs.json).toMatchObject({ scaling_delay: 2, concurrency_buffer: 1, startup_timeout: 60 });
      expect(knobs.json.overrides).toMatchObject({
        scaling_delay: 2,
        concurrency_buffer: 1,
        startup_timeout: 60,
      });
      // The buffer keeps one runner warm although the minimum is 0.
      await until(
        () => runners('scaled'),
        (rs) => rs.filter((r) => r.state === 'idle').length === 1,
      );
      const scaled = (await events('scaled')).filter((e) => e.payload.reason === 'scaled');
      expect(scaled).toHaveLength(3);
      expect(scaled[2]!.payload).toMatchObject({
        new_config: { min_concurrency: 2 },
        actor: { nickname: 'alice' },
      });
    });

    it('switches revisions mid-load without losing a request, draining the old runners', async () => {
      const v1 = await deploy('flip', 'v1');
      await deploy('flip', 'v2');
      await until(
        () => runners('flip'),
        (rs) => rs.some((r) => r.state === 'idle'),
      );
      // Calls sent once the switch has answered must reach v1; earlier ones may be served by either.
      let switched = false;
      const calls = Array.from({ length: 60 }, (_, i) =>
        new Promise((r) => setTimeout(r, i * 5)).then(async () => {
          const after = switched;
          return { after, ...(await call('flip', { sleep_ms: 30 })) };
        }),
      );
      await new Promise((r) => setTimeout(r, 120));
      const res = await api('PUT', 'alice/flip/revision', { revision_id: v1 });
      switched = true;
      expect(res.status).toBe(200);
      expect(res.json).toMatchObject({ revision_id: v1 });
      const results = await Promise.all(calls);
      expect(results.filter((r) => r.status !== 200)).toEqual([]);
      expect(results.filter((r) => r.after && r.version !== 'v1')).toEqual([]);
      expect((await call('flip')).version).toBe('v1');
      await until(
        () => runners('flip'),
        (rs) => rs.every((r) => r.revision_id === v1),
      );
      expect((await api('PUT', 'alice/flip/revision', { revision_id: 'nope' })).status).toBe(404);
      expect((await api('PUT', 'alice/flip/revision', { revision_id: v1 }, rival)).status).toBe(403);
      const ended = (await events('flip')).find((e) => e.payload.reason === 'set-rev');
      expect(ended).toMatchObject({ category: 'deployment_ended', payload: { new_application_id: v1 } });
    });

    it('rolls out by percentage: 10% of 1,000 requests reach the new revision, then promotes', async () => {
      const v1 = await deploy('canary', 'v1');
      const v2 = await deploy('canary', 'v2');
      expect((await api('PUT', 'alice/canary/revision', { revision_id: v1 })).status).toBe(200);
      const start = await api('PUT', 'alice/canary/rollout', { revision_id: v2, percent: 10 });
      expect(start.status).toBe(200);
      expect(start.json).toMatchObject({ current_revision_id: v1, revision_id: v2, percent: 10 });
      await until(
        () => runners('canary'),
        (rs) => rs.some((r) => r.revision_id === v2 && r.state === 'idle'),
      );
      const counts = { v1: 0, v2: 0, failed: 0 };
      for (let batch = 0; batch < 50; batch++) {
        const out = await Promise.all(Array.from({ length: 20 }, () => call('canary')));
        for (const r of out) {
          if (r.status !== 200) counts.failed++;
          else if (r.version === 'v2') counts.v2++;
          else counts.v1++;
        }
      }
      expect(counts.failed).toBe(0);
      expect(counts.v2).toBeGreaterThanOrEqual(70);
      expect(counts.v2).toBeLessThanOrEqual(130);
      const view = await until(
        () => api('GET', 'alice/canary/rollout'),
        (v) => v.json.traffic.reduce((n: number, t: { requests: number }) => n + t.requests, 0) >= 1000,
      );
      const traffic = Object.fromEntries(
        view.json.traffic.map((t: { revision_id: string; requests: number }) => [t.revision_id, t.requests]),
      );
      expect(traffic[v2]).toBe(counts.v2);
      expect(traffic[v1]).toBe(counts.v1);
      expect((await api('PUT', 'alice/canary/rollout', { revision_id: v1, percent: 10 })).status).toBe(400);
      expect((await api('PUT', 'alice/canary/rollout', { revision_id: v2, percent: 100 })).status).toBe(400);
      expect((await api('DELETE', `alice/canary/revisions/${v2}`)).status).toBe(409);
      const promoted = await api('POST', 'alice/canary/rollout/promote');
      expect(promoted.status).toBe(200);
      expect(promoted.json.revision_id).toBe(v2);
      expect((await call('canary')).version).toBe('v2');
      expect((await api('POST', 'alice/canary/rollout/promote')).json.error.type).toBe('validation_error');
      expect((await api('DELETE', 'alice/canary/rollout')).status).toBe(409);
      const cats = (await events('canary')).map((e) => e.category);
      expect(cats).toContain('deployment_rolling_started');
      expect(cats).toContain('deployment_rolling_ended');
    }, 120_000);

    it('aborts a rollout: all traffic returns to the current revision', async () => {
      const v1 = await deploy('undo', 'v1');
      const v2 = await deploy('undo', 'v2');
      await api('PUT', 'alice/undo/revision', { revision_id: v1 });
      expect((await api('PUT', 'alice/undo/rollout', { revision_id: v2, percent: 50 })).status).toBe(200);
      const aborted = await api('DELETE', 'alice/undo/rollout');
      expect(aborted.status).toBe(200);
      expect(aborted.json).toMatchObject({ revision_id: null, percent: 0 });
      const out = await Promise.all(Array.from({ length: 10 }, () => call('undo')));
      expect(out.map((r) => r.version)).toEqual(Array(10).fill('v1'));
      expect((await stack.stores.apps.getSettings('alice', 'undo')).rollout).toBeNull();
    });

    it('deletes revisions except the live one', async () => {
      const v1 = await deploy('revs', 'v1');
      const v2 = await deploy('revs', 'v2');
      const live = await api('DELETE', `alice/revs/revisions/${v2}`);
      expect(live.status).toBe(409);
      expect(live.json.error.message).toMatch(/serves traffic/);
      expect((await api('DELETE', `alice/revs/revisions/${v1}`, undefined, rival)).status).toBe(403);
      expect((await api('DELETE', `alice/revs/revisions/${v1}`)).status).toBe(200);
      expect((await api('DELETE', `alice/revs/revisions/${v1}`)).status).toBe(404);
      expect((await api('PUT', 'alice/revs/revision', { revision_id: v1 })).status).toBe(404);
      const rev = (await stack.stores.apps.listRevisions('alice', 'revs')).map((r) => r.revisionId);
      expect(rev).toEqual([v2]);
      expect((await events('revs')).some((e) => e.payload.reason === 'revision deleted')).toBe(true);
    });

    it("lists, stops and kills runners; a killed runner's queued request is retried", async () => {
      await deploy('pool', 'v1', { max_concurrency: 1, max_multiplexing: 1 });
      const [first] = await until(
        () => runners('pool'),
        (rs) => rs.some((r) => r.state === 'idle'),
      );
      const submitted = await fetch(`${stack.base}/queue/alice/pool`, {
        method: 'POST',
        headers: { authorization: caller, 'content-type': 'application/json' },
        body: JSON.stringify({ sleep_ms: 1500 }),
      });
      const { request_id } = (await submitted.json()) as { request_id: string };
      const busy = await until(
        () => runners('pool'),
        (rs) => rs.some((r) => r.in_flight === 1),
      );
      expect(busy[0]).toMatchObject({ runner_id: first!.runner_id, state: 'running' });
      const killed = await api('POST', `alice/pool/runners/${first!.runner_id}/kill`);
      expect(killed.status).toBe(200);
      // Ended: read back from the registry with its timeline and the time spent in each state.
      const gone = await until(
        async () => (await api('GET', `alice/pool/runners/${first!.runner_id}`)).json.runner,
        (r) => r.state === 'terminated',
      );
      expect(gone.ended_at).not.toBeNull();
      expect(gone.timeline.map((t: { state: string }) => t.state)).toEqual([
        'pending',
        'setup',
        'idle',
        'terminating',
        'terminated',
      ]);
      expect(gone.time_in_states.running).toBeGreaterThan(0);
      expect(gone.state_seconds).toBe(0);
      expect((await api('GET', 'alice/pool/runners/nope')).status).toBe(404);
      expect((await api('GET', `alice/pool/runners/${first!.runner_id}`, undefined, rival)).status).toBe(403);
      const status = await until(
        async () =>
          (await (
            await fetch(`${stack.base}/queue/alice/pool/requests/${request_id}/status`, {
              headers: { authorization: caller },
            })
          ).json()) as { status: string },
        (s) => s.status === 'COMPLETED',
      );
      expect(status.status).toBe('COMPLETED');
      const result = await fetch(`${stack.base}/queue/alice/pool/requests/${request_id}`, {
        headers: { authorization: caller },
      });
      expect(result.status).toBe(200);
      const record = await stack.stores.requests.get(request_id);
      expect(record?.attempts).toBe(2);
      const [second] = await until(
        () => runners('pool'),
        (rs) => rs.some((r) => r.state === 'idle'),
      );
      expect(second!.runner_id).not.toBe(first!.runner_id);
      expect((await api('POST', `alice/pool/runners/${second!.runner_id}/stop`)).status).toBe(200);
      await until(
        () => runners('pool'),
        (rs) => rs.every((r) => r.runner_id !== second!.runner_id),
      );
      expect((await api('POST', 'alice/pool/runners/nope/stop')).status).toBe(404);
      const reasons = (await events('pool')).map((e) => e.payload.reason);
      expect(reasons).toContain('killed by alice');
      expect(reasons).toContain('stopped by alice');
      expect(
        (await api('POST', `alice/pool/runners/${second!.runner_id}/kill`, undefined, apiKey)).status,
      ).toBe(403);
    }, 60_000);

    it('deletes an app: queued requests are answered, in-flight work finishes, bundles stay', async () => {
      await deploy('gone', 'v1', { max_concurrency: 1, max_multiplexing: 1 });
      await until(
        () => runners('gone'),
        (rs) => rs.some((r) => r.state === 'idle'),
      );
      const blocker = call('gone', { sleep_ms: 500 });
      await until(
        () => runners('gone'),
        (rs) => rs.some((r) => r.in_flight === 1),
      );
      const queued = [call('gone'), call('gone')];
      await until(
        async () => stack.supervisor.stats('alice').find((s) => s.app === 'gone')?.queueSize ?? 0,
        (n) => n === 2,
      );
      const bundle = (await stack.stores.apps.listRevisions('alice', 'gone'))[0]!.bundle!;
      expect((await api('DELETE', 'alice/gone', undefined, rival)).status).toBe(403);
      const res = await api('DELETE', 'alice/gone');
      expect(res.status).toBe(200);
      expect(res.json).toMatchObject({ deleted: true, cancelled_requests: 2 });
      expect((await Promise.all(queued)).map((r) => r.status)).toEqual([404, 404]);
      expect((await blocker).status).toBe(200);
      expect(await stack.stores.apps.getApp('alice', 'gone')).toBeNull();
      expect(await stack.stores.apps.getBundle('alice', bundle)).not.toBeNull();
      expect((await api('DELETE', 'alice/gone')).status).toBe(404);
    });
  });
});
