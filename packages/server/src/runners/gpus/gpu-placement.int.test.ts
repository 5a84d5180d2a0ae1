import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { MachineType } from '@hangar/core';
import { afterEach, describe, expect, it } from 'vitest';
import { toWireRunner } from '../../api/apps/ops-wire.js';
import { createProcessRunnerDriver } from '../process-driver.js';
import { MACHINE_TYPES, manifest, request, revision, testBed, until } from '../supervisor.test-helper.js';
import { fakeNvidiaSmi } from './fake-nvidia-smi.test-helper.js';
import { type LocalGpus, openLocalGpus } from './index.js';

const cleanups: Array<() => Promise<void> | void> = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

/** Prints the cards it was given, answers with them, and exits with 1 on `/crash`. */
const GPU_APP = `
import http from 'node:http';
console.log('gpus=' + process.env.CUDA_VISIBLE_DEVICES + ' nvidia=' + process.env.NVIDIA_VISIBLE_DEVICES);
http.createServer((q, s) => {
  if (q.url === '/crash') process.exit(1);
  s.end(JSON.stringify({ runner: process.env.HANGAR_RUNNER_ID, cuda: process.env.CUDA_VISIBLE_DEVICES }));
}).listen(Number(process.env.PORT), '127.0.0.1');
process.on('SIGTERM', () => process.exit(0));
`;

const TYPES: Record<string, MachineType> = {
  ...MACHINE_TYPES,
  'GPU-H100': {
    unitPrice: 0.0005,
    gpuLabel: 'NVIDIA H100',
    reservedRunners: 8,
    surgeMultiplier: 1,
    gpus: 1,
    gpuProduct: 'H100',
  },
};

/** A supervisor over the process driver on the fake 8-GPU machine (6 H100s, 2 A100s). */
async function gpuBed() {
  const fake = fakeNvidiaSmi();
  cleanups.push(fake.cleanup);
  const gpus = (await openLocalGpus({
    gpus: null,
    searchPath: `${fake.dir}:${process.env['PATH']}`,
  })) as LocalGpus;
  const h = testBed(cleanups, {
    driver: createProcessRunnerDriver({ gpus }),
    machineTypes: TYPES,
    gpuCapacity: (r) => gpus.allocator.capacity(r),
  });
  writeFileSync(join(h.dir, 'gpu.mjs'), GPU_APP);
  const gpuManifest = (name: string, over: Parameters<typeof manifest>[0] = {}) =>
    manifest({ name, command: [process.execPath, 'gpu.mjs'], machine_type: 'GPU-H100', ...over });
  /** Cards each runner of the app printed, by runner id. */
  const cardsOf = (app: string) => {
    const live = new Set(h.sup.runners('alice', app).map((r) => r.runnerId));
    const out = new Map<string, string[]>();
    for (const l of h.stores.snapshot().logs) {
      const m = /^gpus=(\S*) nvidia=(\S*)$/.exec(l.message);
      const id = l.labels.fal_job_id;
      if (!m || !id || !live.has(id)) continue;
      if (m[1] !== '') expect(m[2]).toBe(m[1]);
      out.set(id, (m[1] ?? '').split(','));
    }
    return out;
  };
  const ready = (app: string) => h.sup.runners('alice', app).filter((r) => r.state === 'idle').length;
  return { h, gpus, gpuManifest, cardsOf, ready };
}

describe('GPUs on one machine (fake nvidia-smi, 8 cards)', () => {
  it('gives runners needing 1 and 2 GPUs their own cards, waits in PENDING while full, and hands cards on when one stops', async () => {
    const { h, gpus, gpuManifest, cardsOf, ready } = await gpuBed();
    const one = revision(h.dir, gpuManifest('one', { min_concurrency: 3, max_concurrency: 3 }));
    const two = revision(h.dir, gpuManifest('two', { gpus: 2, min_concurrency: 1, max_concurrency: 3 }));
    await h.sup.deploy(one.app, one.rev);
    await h.sup.deploy(two.app, two.rev);
    await until(
      () =>
        ready('one') === 3 && ready('two') === 1 && cardsOf('one').size === 3 && cardsOf('two').size === 1,
    );
    const held = () => [...cardsOf('one').values(), ...cardsOf('two').values()].flat();
    expect(held()).toHaveLength(5);
    expect(new Set(held()).size).toBe(5);
    expect([...cardsOf('two').values()][0]).toHaveLength(2);
    expect(
      held().every((uuid) => gpus.allocator.cards.find((c) => c.uuid === uuid)?.name.includes('H100')),
    ).toBe(true);

    // One H100 is left: a second 2-GPU runner waits in PENDING rather than failing or sharing.
    h.sup.rescale('alice', 'two', two.rev.revisionId, { ...two.rev.manifest, min_concurrency: 2 });
    await until(() =>
      h.stores
        .snapshot()
        .events.some(
          (e) => e.category === 'runner_pending' && e.payload.reason === 'waiting for 2 GPUs of H100',
        ),
    );
    expect(
      h.sup
        .runners('alice', 'two')
        .map((r) => r.state)
        .sort(),
    ).toEqual(['idle', 'pending']);
    const answer = await h.sup.dispatch(request('two'));
    expect(answer.statusCode).toBe(200);

    // A runner of `one` stops: its card and the free one go to the waiter.
    const before = [...cardsOf('one').values()].flat();
    h.sup.rescale('alice', 'one', one.rev.revisionId, {
      ...one.rev.manifest,
      min_concurrency: 2,
      max_concurrency: 2,
    });
    await until(() => ready('two') === 2 && cardsOf('two').size === 2, 15_000);
    expect(h.sup.runners('alice', 'one')).toHaveLength(2);
    const after = [...cardsOf('one').values()].flat();
    const freed = before.filter((uuid) => !after.includes(uuid));
    expect(freed).toHaveLength(1);
    expect([...cardsOf('two').values()].flat()).toEqual(expect.arrayContaining(freed));
    expect(new Set(held()).size).toBe(6);
    expect(held()).toHaveLength(6);
  });

  it('releases the cards of a runner that crashes, and its replacement gets cards again', async () => {
    const { h, gpus, gpuManifest, cardsOf, ready } = await gpuBed();
    const solo = revision(h.dir, gpuManifest('solo', { gpus: 6 }));
    await h.sup.deploy(solo.app, solo.rev);
    await until(() => ready('solo') === 1 && cardsOf('solo').size === 1);
    const [first] = [...cardsOf('solo').keys()];
    expect(gpus.allocator.free().map((c) => c.name)).toEqual([
      'NVIDIA A100-SXM4-80GB',
      'NVIDIA A100-SXM4-80GB',
    ]);
    await h.sup.dispatch(request('solo', {}, { path: '/crash', noRetry: true }));
    // All six H100s were held by the crashed runner: its replacement can only start once they are back.
    await until(
      () => ready('solo') === 1 && cardsOf('solo').size === 1 && !cardsOf('solo').has(first as string),
      15_000,
    );
    expect([...cardsOf('solo').values()][0]).toHaveLength(6);
    expect(h.stores.snapshot().events.some((e) => e.category === 'runner_failed')).toBe(true);
  });

  it('fails the start of a runner that can never fit, with the reason in its event', async () => {
    const { h, gpuManifest } = await gpuBed();
    const huge = revision(h.dir, gpuManifest('huge', { gpus: 7 }));
    await h.sup.deploy(huge.app, huge.rev);
    const failure = await until(() =>
      h.stores.snapshot().events.find((e) => e.category === 'runner_startup_failure'),
    );
    expect(failure.payload.reason).toBe('could not start: needs 7 GPUs of H100 but this machine has 6');
  });

  it('gives a runner that asks for no GPU none of the cards, and samples the cards of those that do', async () => {
    const { h, gpuManifest, cardsOf, ready } = await gpuBed();
    const cpu = revision(h.dir, gpuManifest('cpu', { machine_type: 'CPU' }));
    const gpu = revision(h.dir, gpuManifest('gpu'));
    await h.sup.deploy(cpu.app, cpu.rev);
    await h.sup.deploy(gpu.app, gpu.rev);
    await until(() => ready('cpu') === 1 && ready('gpu') === 1 && cardsOf('cpu').size === 1);
    expect([...cardsOf('cpu').values()][0]).toEqual(['']);
    const line = h.stores
      .snapshot()
      .logs.find((l) => l.message.startsWith('gpus=') && cardsOf('cpu').has(l.labels.fal_job_id ?? ''));
    expect(line?.message).toBe('gpus= nvidia=void');
    const stats = await until(() =>
      h.sup.stats('alice').find((s) => s.app === 'gpu' && (s.gpus ?? []).length > 0),
    );
    const uuid = [...cardsOf('gpu').values()][0]?.[0];
    expect(stats.gpus).toEqual([
      { runnerId: [...cardsOf('gpu').keys()][0], uuid, memoryUsedMb: 1000, utilizationPct: 0 },
    ]);
  });

  it("records each runner's GPU samples in its runner history (registry row and the runner answer)", async () => {
    const { h, gpuManifest, cardsOf, ready } = await gpuBed();
    const two = revision(h.dir, gpuManifest('two', { gpus: 2 }));
    const cpu = revision(h.dir, gpuManifest('cpu', { machine_type: 'CPU' }));
    await h.sup.deploy(two.app, two.rev);
    await h.sup.deploy(cpu.app, cpu.rev);
    await until(() => ready('two') === 1 && ready('cpu') === 1 && cardsOf('two').size === 1);
    const [runnerId, cards] = [...cardsOf('two').entries()][0]!;
    // Folded samples reach the registry with its next write (metering every 50 ms here).
    const row = await until(() => {
      const r = h.stores.snapshot().runners.find((x) => x.runnerId === runnerId);
      return r?.gpus?.length === 2 && r.gpus.every((g) => g.samples >= 2) ? r : undefined;
    });
    // The fake nvidia-smi reports 1000 + 10 × index MiB and index × 10 % for each card.
    const index = (uuid: string) => Number(uuid.slice(-1));
    expect(row.gpus?.map((g) => g.uuid).sort()).toEqual([...cards].sort());
    for (const g of row.gpus ?? []) {
      expect(g).toMatchObject({
        memoryUsedMb: 1000 + 10 * index(g.uuid),
        memoryPeakMb: 1000 + 10 * index(g.uuid),
        utilizationPct: 10 * index(g.uuid),
        utilizationAvgPct: 10 * index(g.uuid),
      });
    }
    const cpuRunner = h.sup.runners('alice', 'cpu')[0]!;
    expect(h.stores.snapshot().runners.find((x) => x.runnerId === cpuRunner.runnerId)?.gpus).toBeUndefined();

    // The runner answer (GET …/runners/{id}) shows them, live and after the runner ended.
    const live = toWireRunner(h.sup.runners('alice', 'two')[0]!, Date.now());
    expect(live.gpus.map((g) => g.uuid).sort()).toEqual([...cards].sort());
    expect(live.gpus[0]).toMatchObject({
      memory_used_mb: expect.any(Number),
      utilization_avg_pct: expect.any(Number),
    });
    expect(h.sup.stopRunner('alice', 'two', runnerId, 'stop', 'test')).toBe(true);
    const ended = await until(() =>
      h.stores.snapshot().runners.find((x) => x.runnerId === runnerId && x.endedAt !== null),
    );
    expect(ended.gpus?.length).toBe(2);
    expect(toWireRunner(cpuRunner, Date.now()).gpus).toEqual([]);
  });
});
