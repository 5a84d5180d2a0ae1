import { execFileSync, spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { tarGz } from '../../bundles/tar-writer.test-helper.js';
import { loadConfig } from '../../config.js';
import { type RunningServer, startServer } from '../../main.js';
import { FAKE_CARDS } from '../gpus/fake-nvidia-smi.test-helper.js';
import { until } from '../supervisor.test-helper.js';
import { type FakeContainerCli, fakeContainerCli } from './fake-container-cli.test-helper.js';

const IMAGE = 'registry.example.com/acme/echo:1';
/** The image of the runner an earlier server left behind (pulled then, so not IMAGE). */
const OLD_IMAGE = 'registry.example.com/acme/old:1';

const APP = `
import http from 'node:http';
http.createServer((q, s) => {
  s.setHeader('content-type', 'application/json');
  s.end(JSON.stringify({ from: 'image', cuda: process.env.CUDA_VISIBLE_DEVICES, model: process.env.MODEL }));
}).listen(Number(process.env.PORT), '127.0.0.1');
process.on('SIGTERM', () => process.exit(0));
`;

/** A running container with the labels of a runner of `node`, as a server that died would leave it. */
async function leaveOrphan(fake: FakeContainerCli, node: string): Promise<void> {
  const run = (args: string[]) => execFileSync(fake.cli, args, { stdio: 'ignore' });
  run(['pull', OLD_IMAGE]);
  const labels = { owner: 'acme', app: 'gone', revision: 'r0', runner: 'old', node };
  run([
    'create',
    '--rm',
    '--name=hangar-old',
    ...Object.entries(labels).map(([k, v]) => `--label=hangar.${k}=${v}`),
    '--env=PORT=0',
    OLD_IMAGE,
  ]);
  spawn(fake.cli, ['start', '--attach', 'hangar-old'], { stdio: 'ignore', detached: true }).unref();
  await until(() => fake.containers().some((c) => c.name === 'hangar-old' && c.state === 'running'));
}

describe('image apps end to end (container CLI: a fake)', () => {
  let home: string;
  let fake: FakeContainerCli;
  let server: RunningServer;
  let admin: string;

  beforeAll(async () => {
    home = mkdtempSync(join(tmpdir(), 'hangar-image-apps-'));
    writeFileSync(join(home, 'app.mjs'), APP);
    fake = fakeContainerCli({
      images: {
        [IMAGE]: { command: [process.execPath, 'app.mjs'], cwd: home },
        [OLD_IMAGE]: { command: [process.execPath, 'app.mjs'], cwd: home },
      },
      pullDelayMs: 300,
    });
    const gpus = FAKE_CARDS.map((c) => ({
      index: c.index,
      uuid: c.uuid,
      name: c.name,
      memory_mb: c.memoryMb,
    }));
    writeFileSync(
      join(home, 'hangar.config.json'),
      JSON.stringify({ gpus, runners: { isolation: 'trusted', container_cli: fake.cli } }),
    );
    await leaveOrphan(fake, 'node-a');
    const env = {
      HANGAR_LOG_LEVEL: 'silent',
      HANGAR_HOME: home,
      HANGAR_OWNER: 'acme',
      HANGAR_NODE_ID: 'node-a',
    };
    server = await startServer(loadConfig({ port: '0', home }, env, home));
    admin = `Key ${readFileSync(join(home, 'admin.key'), 'utf8').trim()}`;
  });

  afterAll(async () => {
    await server?.shutdown();
    fake?.cleanup();
    if (home) rmSync(home, { recursive: true, force: true });
  });

  const api = (path: string, init: RequestInit = {}) =>
    fetch(`${server.url}${path}`, { ...init, headers: { authorization: admin, ...(init.headers ?? {}) } });

  it('removes the container an earlier server of this node left running, found by its labels', async () => {
    await until(() => fake.containers().every((c) => c.name !== 'hangar-old'));
    expect(fake.calls()).toContainEqual(['rm', '-f', 'hangar-old']);
  });

  it('deploys a manifest-only bundle naming an image, serves it through the gateway on two GPUs, with DOCKER_PULL before SETUP', async () => {
    const manifest = {
      name: 'echo-img',
      image: IMAGE,
      machine_type: 'GPU-H100',
      gpus: 2,
      env: { MODEL: 'tiny' },
    };
    const bundle = tarGz([{ path: 'hangar.json', body: JSON.stringify(manifest) }]);
    const uploaded = await api('/v1/serverless/bundles', {
      method: 'POST',
      headers: { 'content-type': 'application/gzip' },
      body: bundle,
    });
    expect(uploaded.ok).toBe(true);
    const { bundle: digest } = (await uploaded.json()) as { bundle: string };
    const deployed = await api('/v1/serverless/apps', {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ bundle: digest }),
    });
    expect(deployed.status).toBe(201);

    const res = await api('/run/acme/echo-img', {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: '{}',
    });
    expect(res.status).toBe(200);
    const answer = (await res.json()) as { from: string; cuda: string; model: string };
    expect(answer).toMatchObject({ from: 'image', model: 'tiny' });
    const cards = answer.cuda.split(',');
    expect(cards).toHaveLength(2);
    for (const uuid of cards) expect(FAKE_CARDS.map((c) => c.uuid)).toContain(uuid);

    const create =
      fake.calls().find((c) => c[0] === 'create' && c.includes('--label=hangar.app=echo-img')) ?? [];
    expect(create).toContain(`--gpus="device=${cards.join(',')}"`);
    expect(create).toContain('--label=hangar.owner=acme');
    expect(JSON.stringify(fake.calls())).not.toContain('tiny');

    const categories = await until(async () => {
      const body = (await (await api('/v1/serverless/apps/acme/echo-img/events?limit=100')).json()) as {
        events: Array<{ category: string }>;
      };
      const seen = body.events.map((e) => e.category).reverse();
      return seen.includes('runner_started') ? seen : null;
    });
    const runnerSteps = categories.filter((c) => c.startsWith('runner_'));
    expect(runnerSteps.slice(0, 4)).toEqual([
      'runner_pending',
      'runner_docker_pull',
      'runner_setup',
      'runner_started',
    ]);
  });
});
