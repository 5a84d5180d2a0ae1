import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createFalClient } from '@fal-ai/client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type GatewayStack, openGatewayStack } from './e2e-stack.test-helper.js';
import { createTestKey } from './test-server.js';

/** A slow-starting app (a model loading for 3 s before its port opens), then quick answers. */
const APP = `
import http from 'node:http';
const server = http.createServer((req, res) => {
  if (req.url === '/health') { res.end('ok'); return; }
  req.resume();
  req.on('end', () => setTimeout(() => {
    res.setHeader('content-type', 'application/json');
    res.end(JSON.stringify({ runner: process.env.HANGAR_RUNNER_ID }));
  }, 100));
});
setTimeout(() => server.listen(Number(process.env.PORT), '127.0.0.1'), 3000);
process.on('SIGTERM', () => process.exit(0));
`;

let stack: GatewayStack;
let appDir: string;
let key: string;

beforeAll(async () => {
  stack = await openGatewayStack({ prefix: 'hangar-zero-e2e-' });
  appDir = mkdtempSync(join(tmpdir(), 'hangar-zero-app-'));
  writeFileSync(join(appDir, 'app.mjs'), APP);
  writeFileSync(
    join(appDir, 'hangar.json'),
    JSON.stringify({
      name: 'cold',
      command: ['node', 'app.mjs'],
      machine_type: 'CPU',
      min_concurrency: 0,
      max_concurrency: 2,
      max_multiplexing: 2,
      keep_alive: 300,
      startup_timeout: 60,
    }),
  );
  key = await createTestKey(stack.stores.keys, 'alice');
  await stack.deployDir('alice', appDir);
});

afterAll(async () => {
  await stack?.close();
  rmSync(appDir, { recursive: true, force: true });
});

const run = (headers: Record<string, string> = {}) =>
  fetch(`${stack.base}/run/alice/cold`, {
    method: 'POST',
    headers: { authorization: `Key ${key}`, 'content-type': 'application/json', ...headers },
    body: '{}',
  });

describe('scale to zero holds requests while a runner boots', () => {
  it('answers a burst of sync and queued calls against zero runners without a 5xx', async () => {
    expect(stack.supervisor.runners('alice', 'cold')).toEqual([]);
    const fal = createFalClient({
      credentials: key,
      requestMiddleware: async (req) => ({
        ...req,
        url: req.url.replace(/^https:\/\/queue\.fal\.run\//, `${stack.base}/queue/`),
      }),
    });
    const sync = Array.from({ length: 8 }, () => run());
    const queued = Array.from({ length: 8 }, () =>
      fal.subscribe('alice/cold', { input: {}, pollInterval: 200 }),
    );
    // A caller whose own start deadline (1 s) passes before a runner is up gets fal's 504.
    const impatient = run({ 'x-fal-request-timeout': '1' });

    const answers = await Promise.all(sync);
    expect(answers.map((r) => r.status)).toEqual(Array(8).fill(200));
    const results = await Promise.all(queued);
    expect(results.every((r) => typeof (r.data as { runner?: string }).runner === 'string')).toBe(true);
    expect((await impatient).status).toBe(504);

    // The burst started at most max_concurrency runners, each through PENDING and SETUP.
    const runners = stack.supervisor.runners('alice', 'cold');
    expect(runners.length).toBeLessThanOrEqual(2);
    for (const r of runners) {
      expect(r.times.timeline.slice(0, 3).map((t) => t.state)).toEqual(['pending', 'setup', 'idle']);
      expect(r.times.seconds.setup).toBeGreaterThan(0);
    }
  }, 60_000);
});
