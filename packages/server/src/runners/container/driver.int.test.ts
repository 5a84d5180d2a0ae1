import { existsSync, mkdirSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { RunnerHandle, RunnerPhase, RunnerSpec } from '@hangar/core';
import { afterEach, describe, expect, it } from 'vitest';
import { quietHooks, runnerSpec } from '../driver-contract.test-helper.js';
import { FAKE_CARDS } from '../gpus/fake-nvidia-smi.test-helper.js';
import { openLocalGpus } from '../gpus/index.js';
import { createProcessRunnerDriver } from '../process-driver.js';
import { until } from '../supervisor.test-helper.js';
import { createContainerRunnerDriver } from './driver.js';
import { type FakeContainerCli, fakeContainerCli } from './fake-container-cli.test-helper.js';

const IMAGE = 'registry.example.com/acme/echo:1';
const SECRET = 'sk-live-0123456789abcdef';

/** Answers with the variables it was given; what the fake runs in place of IMAGE. */
const APP = `
import http from 'node:http';
console.log('up on ' + process.env.PORT);
http.createServer((q, s) => s.end(JSON.stringify(process.env))).listen(Number(process.env.PORT), '127.0.0.1');
process.on('SIGTERM', () => process.exit(0));
`;

const cleanups: Array<() => Promise<void> | void> = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

function setup(opts: { pullDelayMs?: number; flavor?: 'docker' | 'podman'; withGpus?: boolean } = {}) {
  const root = mkdtempSync(join(tmpdir(), 'hangar-container-'));
  cleanups.push(() => rmSync(root, { recursive: true, force: true }));
  writeFileSync(join(root, 'app.mjs'), APP);
  mkdirSync(join(root, 'data'));
  const fake = fakeContainerCli({
    images: { [IMAGE]: { command: [process.execPath, 'app.mjs'], cwd: root } },
    ...opts,
  });
  cleanups.push(fake.cleanup);
  return { root, fake };
}

async function driverOf(fake: FakeContainerCli, root: string, withGpus = false) {
  const gpus = withGpus ? await openLocalGpus({ gpus: FAKE_CARDS, searchPath: '' }) : null;
  return createContainerRunnerDriver({
    cli: fake.cli,
    inner: createProcessRunnerDriver({ stateDir: join(root, 'states') }),
    runDir: join(root, 'run'),
    gpus,
    fallbackUser: '65534:65534',
  });
}

function imageSpec(root: string, runnerId: string, over: Partial<RunnerSpec> = {}): RunnerSpec {
  const base = runnerSpec({ runnerId, owner: 'alice', dir: root, dataDir: join(root, 'data'), command: [] });
  return {
    ...base,
    artifact: { kind: 'image', image: IMAGE, command: null },
    env: { HANGAR_RUNNER_ID: runnerId, MODEL: 'tiny' },
    secrets: { HUB_TOKEN: SECRET },
    ...over,
  } as RunnerSpec;
}

async function envOf(handle: RunnerHandle): Promise<Record<string, string>> {
  return until(async () => {
    const res = await fetch(handle.url).catch(() => null);
    return res?.ok ? ((await res.json()) as Record<string, string>) : null;
  });
}

describe('container driver (fake CLI)', () => {
  it('pulls (DOCKER_PULL) then starts (SETUP) an image runner, serving with its variables and none on argv', async () => {
    const { root, fake } = setup({ pullDelayMs: 200 });
    const driver = await driverOf(fake, root);
    const phases: RunnerPhase[] = [];
    const spec = imageSpec(root, 'r1');
    const handle = await driver.start(spec, quietHooks({ onPhase: (p) => phases.push(p) }));
    expect(phases).toEqual(['DOCKER_PULL', 'SETUP']);
    expect(handle.ref).toBe('hangar-r1');
    const env = await envOf(handle);
    expect(env).toMatchObject({ MODEL: 'tiny', HUB_TOKEN: SECRET, PORT: new URL(handle.url).port });
    expect(env['DATA_DIR']).toBe(join(root, 'data'));

    const calls = fake.calls();
    expect(calls.map((c) => c.slice(0, 2).join(' '))).toEqual([
      'image inspect',
      `pull ${IMAGE}`,
      expect.stringMatching(/^create/),
      'start --attach',
    ]);
    const create = calls.find((c) => c[0] === 'create') ?? [];
    for (const flag of [
      '--rm',
      '--read-only',
      '--tmpfs=/tmp',
      '--cap-drop=ALL',
      '--security-opt=no-new-privileges',
      '--user=65534:65534',
      '--network=bridge',
      '--label=hangar.owner=alice',
      '--label=hangar.runner=r1',
      '--label=hangar.node=test',
      '--name=hangar-r1',
      `--volume=${join(root, 'data')}:/data`,
    ]) {
      expect(create).toContain(flag);
    }
    expect(create.at(-1)).toBe(IMAGE);
    // No value of the runner's variables is on any command line; the env file was 0600 and is gone.
    expect(JSON.stringify(calls)).not.toContain(SECRET);
    expect(JSON.stringify(calls)).not.toContain('tiny');
    expect(fake.containers()[0]?.envFileMode).toBe('600');
    expect(readdirSync(join(root, 'run'))).toEqual([]);

    await handle.stop(5000);
    await until(() => fake.containers().length === 0);
    expect(fake.calls().some((c) => c[0] === 'stop' && c.includes('hangar-r1'))).toBe(true);
  });

  it('skips the pull of an image the engine holds, and a manifest command replaces the entrypoint', async () => {
    const { root, fake } = setup();
    const driver = await driverOf(fake, root);
    const first = await driver.start(imageSpec(root, 'r1'), quietHooks());
    const phases: RunnerPhase[] = [];
    const artifact = {
      kind: 'image' as const,
      image: IMAGE,
      command: [process.execPath, 'app.mjs', '--verbose'],
    };
    const second = await driver.start(
      imageSpec(root, 'r2', { artifact }),
      quietHooks({ onPhase: (p) => phases.push(p) }),
    );
    expect(phases).toEqual(['SETUP']);
    await envOf(second);
    const create =
      fake
        .calls()
        .filter((c) => c[0] === 'create')
        .at(-1) ?? [];
    expect(create.slice(-4)).toEqual([`--entrypoint=${process.execPath}`, IMAGE, 'app.mjs', '--verbose']);
    first.kill();
    second.kill();
    await until(() => fake.containers().length === 0);
  });

  it.each([
    ['docker', (uuids: string[]) => [`--gpus="device=${uuids.join(',')}"`]],
    ['podman', (uuids: string[]) => uuids.map((u) => `--device=nvidia.com/gpu=${u}`)],
  ] as const)('passes the runner’s own GPUs to %s', async (flavor, expected) => {
    const { root, fake } = setup({ flavor });
    const driver = await driverOf(fake, root, true);
    const spec = imageSpec(root, 'g1', {
      resources: { cpu: 2, memoryMb: 4096, gpus: { count: 2, product: 'H100' } },
    });
    const handle = await driver.start(spec, quietHooks());
    expect(handle.gpus).toHaveLength(2);
    const create = fake.calls().find((c) => c[0] === 'create') ?? [];
    expect(create).toEqual(
      expect.arrayContaining([...expected([...handle.gpus]), '--cpus=2', '--memory=4096m']),
    );
    const env = await envOf(handle);
    expect(env['CUDA_VISIBLE_DEVICES']).toBe(handle.gpus.join(','));
    handle.kill();
    await until(() => fake.containers().length === 0);
  });

  it('finds an image runner left by an earlier server by its labels and removes it', async () => {
    const { root, fake } = setup();
    const before = await driverOf(fake, root);
    const handle = await before.start(imageSpec(root, 'orphan'), quietHooks());
    const { PORT } = await envOf(handle);
    const pid = fake.containers()[0]?.pid ?? 0;
    // A restarted server: a new driver over the same engine.
    const after = await driverOf(fake, root);
    const found = await after.discover('test');
    expect(found).toEqual([
      {
        ref: 'hangar-orphan',
        alive: true,
        labels: { owner: 'alice', app: 'a', revisionId: 'rev', runnerId: 'orphan', node: 'test' },
      },
    ]);
    expect(await after.discover('elsewhere')).toEqual([]);
    await after.remove('hangar-orphan');
    expect(fake.containers()).toEqual([]);
    await until(() => !isAlive(pid));
    expect(await fetch(`http://127.0.0.1:${PORT}`).catch(() => 'gone')).toBe('gone');
    await after.remove('hangar-orphan');
  });

  it('runs bundled apps on the driver it wraps', async () => {
    const { root, fake } = setup();
    const driver = await driverOf(fake, root);
    const spec = runnerSpec({
      runnerId: 'b1',
      owner: 'alice',
      dir: root,
      dataDir: join(root, 'data'),
      command: [process.execPath, 'app.mjs'],
    });
    const handle = await driver.start(spec, quietHooks());
    expect(handle.ref).toMatch(/^\d+$/);
    await envOf(handle);
    expect(fake.calls()).toEqual([]);
    await handle.stop(2000);
  });

  it('an abort during the pull rejects and leaves no container', async () => {
    const { root, fake } = setup({ pullDelayMs: 5000 });
    const driver = await driverOf(fake, root);
    const abort = new AbortController();
    const started = driver.start(
      imageSpec(root, 'ab'),
      quietHooks({ onPhase: (p) => p === 'DOCKER_PULL' && abort.abort() }),
      abort.signal,
    );
    await expect(started).rejects.toThrow();
    expect(fake.containers()).toEqual([]);
    expect(existsSync(join(root, 'run', 'hangar-ab.env'))).toBe(false);
  });
});

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}
