import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { logsFor, type RunnerProcess, startRunner } from '../runner-process.js';

const dir = fileURLToPath(new URL('.', import.meta.url));
const PNG_SIGNATURE = Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]);

function post(runner: RunnerProcess, body: string | object, requestId?: string): Promise<Response> {
  const headers: Record<string, string> = { 'content-type': 'application/json' };
  if (requestId) headers['x-fal-request-id'] = requestId;
  const payload = typeof body === 'string' ? body : JSON.stringify(body);
  return fetch(`${runner.url}/`, { method: 'POST', headers, body: payload });
}

describe('png-python example runner', () => {
  let runner: RunnerProcess;
  beforeAll(async () => {
    runner = await startRunner(dir, ['python3', '-u', 'app.py'], 'runner-png-1');
  });
  afterAll(async () => {
    await runner.stop();
  });

  it('answers GET /health with 200', async () => {
    expect((await fetch(`${runner.url}/health`)).status).toBe(200);
  });

  it('writes a valid PNG into DATA_DIR/outputs and describes it', async () => {
    const res = await post(
      runner,
      { width: 64, height: 48, prompt: 'a red fox', seed: 7, steps: 3 },
      'req-png',
    );
    expect(res.status).toBe(200);
    expect(await res.json()).toEqual({
      images: [{ path: 'outputs/req-png.png', width: 64, height: 48, content_type: 'image/png' }],
      seed: 7,
      prompt: 'a red fox',
    });
    const file = join(runner.dataDir, 'outputs', 'req-png.png');
    expect(existsSync(file)).toBe(true);
    const png = readFileSync(file);
    expect(png.subarray(0, 8).equals(PNG_SIGNATURE)).toBe(true);
    expect(png.subarray(12, 16).toString('latin1')).toBe('IHDR');
    expect(png.readUInt32BE(16)).toBe(64);
    expect(png.readUInt32BE(20)).toBe(48);
  });

  it('logs one progress JSON line per step with the request id', async () => {
    await post(runner, { width: 16, height: 16, prompt: 'steps', steps: 4 }, 'req-steps');
    await runner.waitForLine((l) => l.includes('step 4/4') && l.includes('req-steps'));
    const lines = logsFor(runner.lines, 'req-steps');
    expect(lines).toHaveLength(4);
    expect(lines[0]).toMatchObject({ level: 'info', message: 'step 1/4', request_id: 'req-steps' });
  });

  it('bills megapixels formatted like fal', async () => {
    const frac = await post(runner, { width: 512, height: 512, prompt: 'x', steps: 1 });
    expect(frac.headers.get('x-fal-billable-units')).toBe('0.26214400');
    const whole = await post(runner, { width: 1000, height: 1000, prompt: 'x', steps: 1 });
    expect(whole.headers.get('x-fal-billable-units')).toBe('1');
  });

  it('rejects bad input with a FastAPI-style 422', async () => {
    const res = await post(runner, { width: 'wide', height: 8, prompt: 'x' });
    expect(res.status).toBe(422);
    const body = (await res.json()) as { detail: Array<{ loc: string[]; msg: string; type: string }> };
    expect(body.detail).toEqual([{ loc: ['body', 'width'], msg: expect.any(String), type: 'value_error' }]);
    const missing = await post(runner, { width: 8, height: 8 });
    expect(missing.status).toBe(422);
    expect(((await missing.json()) as typeof body).detail[0]!.loc).toEqual(['body', 'prompt']);
    const tooBig = await post(runner, { width: 8, height: 100_000, prompt: 'x' });
    expect(((await tooBig.json()) as typeof body).detail[0]!.loc).toEqual(['body', 'height']);
    expect((await post(runner, '{not json')).status).toBe(422);
  });
});

describe('png-python process lifecycle', () => {
  it('exits 0 on SIGTERM', async () => {
    const runner = await startRunner(dir, ['python3', '-u', 'app.py']);
    try {
      runner.child.kill('SIGTERM');
      expect(await runner.exited()).toBe(0);
    } finally {
      await runner.stop();
    }
  });
});
