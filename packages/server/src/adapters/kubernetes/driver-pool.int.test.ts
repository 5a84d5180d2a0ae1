import { afterEach, describe, expect, it } from 'vitest';
import {
  json,
  MACHINE_TYPES,
  manifest,
  request,
  revision,
  testBed,
  until,
} from '../../runners/supervisor.test-helper.js';
import { kubeBed, NAMESPACE } from './driver.test-helper.js';
import type { KubeObject } from './fake-api-store.test-helper.js';

// The runner pool (supervisor) over the Kubernetes driver and the fake API server: what a request sees.
const cleanups: Array<() => Promise<void> | void> = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

const ALL = { matches: () => true } as never;
const GPU_TYPES = { ...MACHINE_TYPES, 'GPU-X': { ...MACHINE_TYPES['CPU']!, gpuLabel: 'X', gpus: 1 } };

async function setup(fakeOpts = {}) {
  const first = testBed(cleanups);
  const bed = await kubeBed(first.dir, cleanups, fakeOpts);
  const h = testBed(cleanups, { driver: bed.driver(), machineTypes: GPU_TYPES, nodeId: 'node-a' });
  return { h, bed, dir: first.dir };
}

function deployedRev(dir: string, bundle: string, over: Parameters<typeof manifest>[0]) {
  const { app, rev } = revision(dir, manifest(over));
  rev.bundle = bundle;
  return { app, rev };
}

describe('runner pool on Kubernetes (fake API server)', () => {
  it('serves a request on a Pod, and retries it on a new Pod when the first is OOM-killed mid-request', async () => {
    const { h, bed, dir } = await setup();
    const { app, rev } = deployedRev(dir, bed.bundle.digest, { name: 'oom', min_concurrency: 1 });
    await h.sup.deploy(app, rev);
    const first = await h.sup.dispatch(request('oom', { hello: 1 }));
    expect(first.statusCode).toBe(200);
    const firstRunner = json(first.body)['runner'];
    expect(json(first.body)['body']).toEqual({ hello: 1 });

    const slow = request('oom', { sleep_ms: 3000 });
    const pending = h.sup.dispatch(slow);
    const pod = await until(() =>
      bed.fake.store
        .list('pods', NAMESPACE, ALL)
        .find((p: KubeObject) => p['metadata']['annotations']['hangar.dev/runner'] === firstRunner),
    );
    // The runner has the request: it logged it (read through the Kubernetes log API).
    await until(() => h.stores.snapshot().logs.find((l) => l.labels.fal_request_id === slow.requestId));
    bed.fake.kubelet.oomKill(NAMESPACE, pod['metadata']['name']);
    const res = await pending;
    expect(res.statusCode).toBe(200);
    expect(res.attempts).toBe(2);
    expect(json(res.body)['runner']).not.toBe(firstRunner);
    const ended = await until(() =>
      h.stores
        .snapshot()
        .events.find(
          (e) => e.category === 'runner_failed' && JSON.stringify(e.payload).includes('OOMKilled'),
        ),
    );
    expect(ended).toBeTruthy();
  });

  it('keeps a GPU runner PENDING past startup_timeout while no node has a free GPU, then serves', async () => {
    const { h, bed, dir } = await setup({ gpuCapacity: 0 });
    const { app, rev } = deployedRev(dir, bed.bundle.digest, {
      name: 'gpu',
      machine_type: 'GPU-X',
      startup_timeout: 1,
      min_concurrency: 0,
    });
    await h.sup.deploy(app, rev);
    const waiting = h.sup.dispatch(request('gpu', {}));
    const pod = await until(() => bed.fake.store.list('pods', NAMESPACE, ALL)[0]);
    expect(pod['spec']['containers'][0]['resources']['limits']['nvidia.com/gpu']).toBe('1');
    await new Promise((r) => setTimeout(r, 2500));
    expect(bed.fake.store.list('pods', NAMESPACE, ALL).map((p: KubeObject) => p['metadata']['name'])).toEqual(
      [pod['metadata']['name']],
    );
    bed.fake.kubelet.setGpuCapacity(1);
    const res = await waiting;
    expect(res.statusCode).toBe(200);
    expect(res.coldStart ?? true).toBeTruthy();
  });
});
