import { spawnSync } from 'node:child_process';
import type { AppLiveStats } from '@hangar/core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { HttpApp } from '../../http/app.js';
import { falViolations } from '../apps/testing/fal-oracle.test-helper.js';
import { addKey, openTestDb, type TestDb, testApp } from '../apps/testing/harness.test-helper.js';
import { createRequestWindow } from './request-window.js';
import { registerMetricsRoutes } from './routes.js';

const promtool = spawnSync('promtool', ['--version']).status === 0;

let now = Date.parse('2026-05-01T00:00:00Z');
const stats: AppLiveStats[] = [
  {
    owner: 'alice',
    app: 'echo',
    machineType: 'GPU-H100',
    queueSize: 7,
    inFlight: 3,
    runners: {
      pending: 1,
      docker_pull: 0,
      setup: 3,
      idle: 2,
      running: 21,
      draining: 2,
      terminating: 0,
      terminated: 4,
    },
  },
  {
    owner: 'bob',
    app: 'secret',
    machineType: 'CPU',
    queueSize: 99,
    inFlight: 1,
    runners: {
      pending: 0,
      docker_pull: 0,
      setup: 0,
      idle: 0,
      running: 1,
      draining: 0,
      terminating: 0,
      terminated: 0,
    },
  },
];
const window = createRequestWindow(() => now);
let t: TestDb;
let app: HttpApp;
let alice: string;
let bob: string;

beforeAll(() => {
  t = openTestDb();
  alice = addKey(t.db, 'alice').auth;
  bob = addKey(t.db, 'bob').auth;
  app = testApp(t.db);
  registerMetricsRoutes(app, {
    dispatcher: { stats: (owner) => stats.filter((s) => owner === undefined || s.owner === owner) },
    window,
    cacheTtlMs: 10_000,
    machineLabel: (m) => ({ 'GPU-H100': 'NVIDIA H100' })[m] ?? m,
    clock: () => now,
  });
  for (let i = 0; i < 24; i++) window.received({ owner: 'alice', app: 'echo', method: 'POST' });
  for (let i = 0; i < 18; i++) {
    window.completed({ owner: 'alice', app: 'echo', method: 'POST', statusCode: 200, latencyMs: i * 300 });
  }
  window.completed({
    owner: 'alice',
    app: 'we"ird\\app',
    method: 'POST',
    statusCode: 500,
    latencyMs: 700_000,
  });
  window.received({ owner: 'bob', app: 'secret', method: 'PUT' });
});
afterAll(async () => {
  await app.close();
  t.close();
});

const scrape = (auth: string) =>
  app.inject({ method: 'GET', url: '/v1/serverless/metrics', headers: { authorization: auth } });

describe('GET /v1/serverless/metrics', () => {
  it("serves fal's six gauge families in text format 0.0.4", async () => {
    const res = await scrape(alice);
    expect(res.statusCode).toBe(200);
    expect(res.headers['content-type']).toBe('text/plain; version=0.0.4; charset=utf-8');
    expect(falViolations('serverlessGetMetrics', res)).toEqual([]);
    const lines = res.body.split('\n');
    for (const [name, help] of [
      ['fal_app_runners', 'Number of fal app runners'],
      ['fal_app_queue_size', 'Current size of the fal app queue'],
      ['fal_app_concurrent_requests', 'Current number of concurrent requests being processed'],
      ['fal_app_requests_completed', 'Number of requests completed in the last minute'],
      ['fal_app_requests_received', 'Number of requests received in the last minute'],
      ['fal_app_request_latency', 'Number of requests completed, bucketed by latency in seconds'],
    ]) {
      expect(lines).toContain(`# HELP ${name} ${help}`);
      expect(lines).toContain(`# TYPE ${name} gauge`);
    }
    // fal's three states: booting and setup are a cold start (pending); draining runners are finishing
    // their in-flight requests (running).
    const falRunners = lines.filter((l) => l.startsWith('fal_app_runners{application="alice/echo"'));
    expect(falRunners).toEqual([
      'fal_app_runners{application="alice/echo",machine_type="NVIDIA H100",state="idle"} 2',
      'fal_app_runners{application="alice/echo",machine_type="NVIDIA H100",state="running"} 23',
      'fal_app_runners{application="alice/echo",machine_type="NVIDIA H100",state="pending"} 4',
    ]);
    // The exact states are in Hangar's own family.
    expect(lines).toContain('# TYPE hangar_app_runners gauge');
    for (const [state, n] of [
      ['pending', 1],
      ['setup', 3],
      ['idle', 2],
      ['running', 21],
      ['draining', 2],
    ]) {
      expect(lines).toContain(
        `hangar_app_runners{application="alice/echo",machine_type="NVIDIA H100",state="${state}"} ${n}`,
      );
    }
    expect(lines.some((l) => l.includes('state="terminated"'))).toBe(false);
    expect(lines).toContain('fal_app_queue_size{application="alice/echo"} 7');
    expect(lines).toContain('fal_app_concurrent_requests{application="alice/echo"} 3');
    expect(lines).toContain(
      'fal_app_requests_completed{application="alice/echo",method="POST",status="200"} 18',
    );
    expect(lines).toContain('fal_app_requests_received{application="alice/echo",method="POST"} 24');
    // 0, 300 ms, ... 5.1 s: four at or under 1 s, all 18 by 10 s; cumulative up to +Inf.
    expect(lines).toContain('fal_app_request_latency{application="alice/echo",le="1.0"} 4');
    expect(lines).toContain('fal_app_request_latency{application="alice/echo",le="10.0"} 18');
    expect(lines).toContain('fal_app_request_latency{application="alice/echo",le="+Inf"} 18');
    expect(lines).toContain('fal_app_request_latency{application="alice/we\\"ird\\\\app",le="600.0"} 0');
    expect(lines).toContain('fal_app_request_latency{application="alice/we\\"ird\\\\app",le="+Inf"} 1');
  });

  it('shows an owner only its own apps', async () => {
    const a = (await scrape(alice)).body;
    const b = (await scrape(bob)).body;
    expect(a).not.toContain('bob/');
    expect(b).not.toContain('alice/');
    expect(b).toContain('fal_app_queue_size{application="bob/secret"} 99');
    expect((await scrape('Key x:y')).statusCode).toBe(401);
  });

  it('caches each owner for the TTL', async () => {
    const before = (await scrape(alice)).body;
    stats[0]!.queueSize = 8;
    now += 5_000;
    expect((await scrape(alice)).body).toBe(before);
    now += 5_001;
    expect((await scrape(alice)).body).toContain('fal_app_queue_size{application="alice/echo"} 8');
  });

  const why = promtool
    ? ''
    : ' (skipped: promtool is not installed; it comes with Debian package prometheus)';
  it.skipIf(!promtool)(`passes promtool check metrics${why}`, async () => {
    const res = await scrape(alice);
    const check = spawnSync('promtool', ['check', 'metrics'], { input: res.body, encoding: 'utf8' });
    // Exit 1 is a parse error; exit 3 is lint only. fal types its latency family `gauge` with an `le`
    // label, which promtool lints; that one finding is fal's naming, kept for compatibility.
    const findings = `${check.stdout}${check.stderr}`.split('\n').filter((l) => l.trim() !== '');
    const expectedLint = 'fal_app_request_latency non-histogram metrics should not have "le" label';
    expect(findings.filter((l) => l !== expectedLint)).toEqual([]);
    expect([0, 3]).toContain(check.status);
    const broken = spawnSync('promtool', ['check', 'metrics'], { input: 'bad{ 1\n', encoding: 'utf8' });
    expect(broken.status).toBe(1);
  });
});
