import { type ChildProcess, spawn, spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { HttpApp } from '../../http/app.js';
import { addKey, openTestDb, type TestDb, testApp } from '../apps/testing/harness.test-helper.js';
import { createRequestWindow } from './request-window.js';
import { registerMetricsRoutes } from './routes.js';

// A real Prometheus scrapes a real listening server with `Authorization: Key …` configured, and its HTTP
// API must then answer a query with our series.

const installed = spawnSync('prometheus', ['--version']).status === 0;
const why = installed ? '' : ' (skipped: prometheus is not installed; Debian package prometheus)';

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = createServer();
    srv.listen(0, '127.0.0.1', () => {
      const addr = srv.address();
      srv.close(() => (typeof addr === 'object' && addr ? resolve(addr.port) : reject(new Error('no port'))));
    });
  });
}

describe.skipIf(!installed)(`a real Prometheus scrape${why}`, () => {
  let t: TestDb;
  let app: HttpApp;
  let prom: ChildProcess;
  let dir: string;
  let promUrl: string;
  let promLog = '';

  beforeAll(async () => {
    t = openTestDb();
    const key = addKey(t.db, 'alice');
    app = testApp(t.db);
    registerMetricsRoutes(app, {
      dispatcher: {
        stats: () => [
          {
            owner: 'alice',
            app: 'echo',
            machineType: 'CPU',
            queueSize: 5,
            inFlight: 1,
            runners: {
              pending: 0,
              docker_pull: 0,
              setup: 0,
              idle: 1,
              running: 1,
              draining: 0,
              terminating: 0,
              terminated: 0,
            },
          },
        ],
      },
      window: createRequestWindow(),
      cacheTtlMs: 0,
    });
    await app.listen({ port: 0, host: '127.0.0.1' });
    const addr = app.server.address();
    const target = `127.0.0.1:${typeof addr === 'object' && addr ? addr.port : 0}`;
    dir = mkdtempSync(join(tmpdir(), 'hangar-prom-'));
    const config = [
      'global:',
      '  scrape_interval: 1s',
      'scrape_configs:',
      '  - job_name: hangar',
      '    metrics_path: /v1/serverless/metrics',
      '    authorization:',
      '      type: Key',
      `      credentials: "${key.credentials}"`,
      '    static_configs:',
      `      - targets: ["${target}"]`,
      '',
    ].join('\n');
    writeFileSync(join(dir, 'prometheus.yml'), config);
    const port = await freePort();
    promUrl = `http://127.0.0.1:${port}`;
    prom = spawn(
      'prometheus',
      [
        `--config.file=${join(dir, 'prometheus.yml')}`,
        `--storage.tsdb.path=${join(dir, 'data')}`,
        `--web.listen-address=127.0.0.1:${port}`,
      ],
      { stdio: ['ignore', 'pipe', 'pipe'] },
    );
    prom.stdout?.on('data', (d) => (promLog += d));
    prom.stderr?.on('data', (d) => (promLog += d));
  });

  afterAll(async () => {
    if (prom && prom.exitCode === null) {
      const exited = new Promise((r) => prom.once('exit', r));
      prom.kill('SIGTERM');
      await exited;
    }
    await app?.close();
    t?.close();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  it('collects fal_app_queue_size with the Key authorization header', async () => {
    let result: { metric: Record<string, string>; value: [number, string] }[] = [];
    for (let i = 0; i < 120 && result.length === 0; i++) {
      await new Promise((r) => setTimeout(r, 500));
      try {
        const res = await fetch(`${promUrl}/api/v1/query?query=fal_app_queue_size`);
        if (res.ok) result = ((await res.json()) as { data: { result: typeof result } }).data.result;
      } catch {
        // Prometheus is still starting.
      }
    }
    expect(result, `prometheus output:\n${promLog.slice(-2000)}`).toHaveLength(1);
    expect(result[0]!.metric).toMatchObject({ __name__: 'fal_app_queue_size', application: 'alice/echo' });
    expect(result[0]!.value[1]).toBe('5');
    const targets = (await (await fetch(`${promUrl}/api/v1/targets`)).json()) as {
      data: { activeTargets: { health: string }[] };
    };
    expect(targets.data.activeTargets.map((x) => x.health)).toEqual(['up']);
  }, 90_000);
});
