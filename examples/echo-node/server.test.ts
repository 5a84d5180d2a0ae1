import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { logsFor, type RunnerProcess, startRunner } from '../runner-process.js';

const dir = fileURLToPath(new URL('.', import.meta.url));
const start = () => startRunner(dir, ['node', 'server.mjs'], 'runner-echo-1');

function post(runner: RunnerProcess, path: string, body: unknown, requestId?: string): Promise<Response> {
  const headers: Record<string, string> = { 'content-type': 'application/json' };
  if (requestId) headers['x-fal-request-id'] = requestId;
  return fetch(`${runner.url}${path}`, { method: 'POST', headers, body: JSON.stringify(body) });
}

describe('echo-node example runner', () => {
  let runner: RunnerProcess;
  beforeAll(async () => {
    runner = await start();
  });
  afterAll(async () => {
    await runner.stop();
  });

  it('answers GET /health with 200', async () => {
    const res = await fetch(`${runner.url}/health`);
    expect(res.status).toBe(200);
  });

  it('echoes the JSON input with the runner id', async () => {
    const res = await post(runner, '/', { hello: 'world', n: 1 });
    expect(res.status).toBe(200);
    expect(await res.json()).toEqual({ echo: { hello: 'world', n: 1 }, runner: 'runner-echo-1' });
  });

  it('sleeps first when asked and still echoes', async () => {
    const res = await post(runner, '/', { sleep_ms: 50 });
    expect(res.status).toBe(200);
    expect(await res.json()).toMatchObject({ echo: { sleep_ms: 50 } });
  });

  it('answers with a requested status and detail', async () => {
    const res = await post(runner, '/', { status: 418, detail: 'teapot' });
    expect(res.status).toBe(418);
    expect(await res.json()).toEqual({ detail: 'teapot' });
  });

  it('fails with 500 and 503 on request', async () => {
    expect((await post(runner, '/', { fail: '500' })).status).toBe(500);
    expect((await post(runner, '/', { fail: '503' })).status).toBe(503);
  });

  it('sets x-fal-billable-units formatted like fal', async () => {
    const whole = await post(runner, '/', { billable_units: 42 });
    expect(whole.headers.get('x-fal-billable-units')).toBe('42');
    const frac = await post(runner, '/', { billable_units: 0.5 });
    expect(frac.headers.get('x-fal-billable-units')).toBe('0.50000000');
    const none = await post(runner, '/', {});
    expect(none.headers.get('x-fal-billable-units')).toBeNull();
  });

  it('prints N JSON log lines carrying the request id', async () => {
    const res = await post(runner, '/', { logs: 3 }, 'req-logs');
    expect(res.status).toBe(200);
    await runner.waitForLine((l) => l.includes('log line 3'));
    const lines = logsFor(runner.lines, 'req-logs');
    expect(lines).toHaveLength(3);
    expect(lines[0]).toMatchObject({ level: 'info', request_id: 'req-logs' });
  });

  it('logs progress on /slow and aborts the sleep on /slow/cancel', async () => {
    const pending = post(runner, '/slow', { sleep_ms: 60_000 }, 'req-slow');
    await runner.waitForLine((l) => l.includes('progress') && l.includes('req-slow'));
    const cancel = await post(runner, '/slow/cancel', {}, 'req-slow');
    expect(cancel.status).toBe(200);
    expect(await cancel.json()).toEqual({ cancelled: true });
    const res = await pending;
    expect(res.status).toBe(400);
    expect(await res.json()).toEqual({ detail: 'cancelled' });
    expect(logsFor(runner.lines, 'req-slow').some((l) => l.message === 'cancellation requested')).toBe(true);
  });

  it('answers 404 for an unknown route', async () => {
    expect((await post(runner, '/nope', {})).status).toBe(404);
  });
});

describe('echo-node process lifecycle', () => {
  it('exits with code 1 when asked to crash mid-request', async () => {
    const runner = await start();
    try {
      await expect(post(runner, '/', { fail: 'crash' })).rejects.toThrow();
      expect(await runner.exited()).toBe(1);
    } finally {
      await runner.stop();
    }
  });

  it('finishes in-flight requests on SIGTERM and exits 0', async () => {
    const runner = await start();
    try {
      const pending = post(runner, '/slow', { sleep_ms: 600 }, 'req-term');
      await runner.waitForLine((l) => l.includes('progress') && l.includes('req-term'));
      runner.child.kill('SIGTERM');
      const res = await pending;
      expect(res.status).toBe(200);
      expect(await runner.exited()).toBe(0);
    } finally {
      await runner.stop();
    }
  });
});
