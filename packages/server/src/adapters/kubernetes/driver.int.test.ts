import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { RunnerHandle, RunnerPhase } from '@hangar/core';
import { afterEach, describe, expect, it } from 'vitest';
import { until } from '../../runners/supervisor.test-helper.js';
import { BASE_IMAGE, type KubeBed, kubeBed, NAMESPACE } from './driver.test-helper.js';
import { DRIVER_CALLS } from './kube-client.js';
import type { KubeRunnerSpec } from './pod-manifest.js';

// The Kubernetes runner driver with the real client against the fake API server (see fake-api-server.test-helper.ts).
const APP = `
import http from 'node:http';
console.log('booting in ' + process.cwd().split('/').pop());
http.createServer((q, s) => {
  if (q.url === '/health') return s.end('ok');
  if (q.url === '/print') { for (let i = 0; i < 5; i++) console.log('line ' + i); return s.end('printed'); }
  s.end(JSON.stringify({ token: process.env.HF_TOKEN ?? null, data: process.env.DATA_DIR, home: process.env.HOME }));
}).listen(Number(process.env.PORT), '127.0.0.1');
process.on('SIGTERM', () => { console.log('stopping'); process.exit(0); });
`;

const SECRET = 'hf_s3cr3t-value-never-in-a-pod-spec';
const cleanups: Array<() => Promise<void> | void> = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

let seq = 0;
function spec(bed: KubeBed, over: Partial<KubeRunnerSpec> = {}): KubeRunnerSpec {
  const runnerId = `runner-k8s-${process.pid}-${++seq}`;
  return {
    runnerId,
    owner: 'alice',
    app: 'demo',
    revisionId: 'rev-1',
    machineType: 'CPU',
    artifact: {
      kind: 'bundle',
      digest: bed.bundle.digest,
      dir: '/unused',
      command: [process.execPath, 'app.mjs'],
    },
    dataDir: '/unused',
    env: { HANGAR_RUNNER_ID: runnerId },
    secrets: {},
    resources: { cpu: null, memoryMb: null, gpus: null },
    healthPath: '/health',
    labels: { owner: 'alice', app: 'demo', revisionId: 'rev-1', runnerId, node: 'node-a' },
    placement: null,
    ...over,
  };
}

interface Run {
  handle: RunnerHandle;
  lines: string[];
  phases: Array<[RunnerPhase, string | undefined]>;
  exit: Promise<{ code: number | null; reason: string | undefined }>;
}

function hooks() {
  const lines: string[] = [];
  const phases: Array<[RunnerPhase, string | undefined]> = [];
  let done!: (v: { code: number | null; reason: string | undefined }) => void;
  const exit = new Promise<{ code: number | null; reason: string | undefined }>((r) => {
    done = r;
  });
  return {
    lines,
    phases,
    exit,
    hooks: {
      onLine: (_s: 'stdout' | 'stderr', l: string) => lines.push(l),
      onPhase: (p: RunnerPhase, d?: string) => phases.push([p, d]),
      onExit: (code: number | null, _sig: string | null, reason?: string) => done({ code, reason }),
    },
  };
}

async function setup(fakeOpts = {}) {
  const dir = mkdtempSync(join(tmpdir(), 'hangar-k8s-app-'));
  writeFileSync(join(dir, 'app.mjs'), APP);
  cleanups.push(() => rmSync(dir, { recursive: true, force: true }));
  return kubeBed(dir, cleanups, fakeOpts);
}

async function start(bed: KubeBed, over: Partial<KubeRunnerSpec> = {}): Promise<Run> {
  const h = hooks();
  const handle = await bed.driver().start(spec(bed, over), h.hooks);
  return { handle, ...h };
}

const get = (url: string) => fetch(url).then((r) => r.text());
const healthy = (url: string) => until(() => get(`${url}/health`).catch(() => null));

describe('Kubernetes runner driver (fake API server)', () => {
  it('runs a bundle app in a Pod: fetch, SETUP, serve, logs, Secret by reference only, stop deletes all', async () => {
    const bed = await setup();
    const r = await start(bed, { secrets: { HF_TOKEN: SECRET } });
    expect(r.phases.map(([p]) => p)).toEqual(['SETUP']);
    expect(r.handle.ref).toMatch(/^hangar-runner-k8s-/);
    await healthy(r.handle.url);
    expect(bed.bundle.fetches()).toBe(1);
    expect(JSON.parse(await get(`${r.handle.url}/`))).toMatchObject({ token: SECRET });
    await until(() => r.lines.includes('booting in app'));

    const pod = bed.fake.store.get('pods', NAMESPACE, r.handle.ref);
    expect(JSON.stringify(pod)).not.toContain(SECRET);
    expect(JSON.stringify(pod)).not.toContain('sig=short-lived');
    expect(pod?.['metadata']['labels']).toMatchObject({
      'hangar.dev/owner': 'alice',
      'hangar.dev/node': 'node-a',
    });
    const ctr = pod?.['spec']['containers'][0];
    expect(ctr.securityContext).toMatchObject({
      readOnlyRootFilesystem: true,
      allowPrivilegeEscalation: false,
    });
    expect(pod?.['spec']['automountServiceAccountToken']).toBe(false);
    const secret = bed.fake.store.get('secrets', NAMESPACE, `${r.handle.ref}-env`);
    expect(Buffer.from(secret?.['data']['HF_TOKEN'], 'base64').toString()).toBe(SECRET);
    const policy = bed.fake.store.get('networkpolicies', NAMESPACE, 'hangar-runners');
    expect(policy?.['spec']['ingress'][0]['from'][0]['podSelector']).toBeTruthy();

    await r.handle.stop(5000);
    expect(await r.exit).toEqual({ code: 0, reason: undefined });
    expect(r.lines).toContain('stopping');
    expect(bed.fake.store.get('pods', NAMESPACE, r.handle.ref)).toBeUndefined();
    expect(bed.fake.store.get('secrets', NAMESPACE, `${r.handle.ref}-env`)).toBeUndefined();
    // Every call the driver made is one deploy/kubernetes/rbac.yaml grants.
    expect([...bed.fake.calls].filter((c) => !DRIVER_CALLS.includes(c))).toEqual([]);
  });

  it('follows logs across dropped streams without repeating a line', async () => {
    const bed = await setup();
    const r = await start(bed);
    await healthy(r.handle.url);
    await get(`${r.handle.url}/print`);
    await until(() => r.lines.includes('line 4'));
    bed.fake.kubelet.running(NAMESPACE, r.handle.ref)?.logs.get('runner')?.dropFollowers();
    await get(`${r.handle.url}/print`);
    await until(() => r.lines.filter((l) => l === 'line 4').length === 2);
    await new Promise((res) => setTimeout(res, 500));
    expect(r.lines.filter((l) => l.startsWith('booting'))).toHaveLength(1);
    expect(r.lines.filter((l) => l === 'line 0')).toHaveLength(2);
    r.handle.kill();
    await r.exit;
  });

  it('adopts a live Pod after a server restart (logs from then on) and removes the rest', async () => {
    const bed = await setup();
    const a = await start(bed);
    const b = await start(bed);
    await healthy(a.handle.url);
    const restarted = bed.driver();
    const found = await restarted.discover('node-a');
    expect(found.map((f) => f.ref).sort()).toEqual([a.handle.ref, b.handle.ref].sort());
    expect(found.every((f) => f.alive && f.labels.owner === 'alice')).toBe(true);
    expect(await restarted.discover('node-b')).toEqual([]);

    const h = hooks();
    const adopted = await restarted.adopt?.(found.find((f) => f.ref === a.handle.ref)!, h.hooks);
    expect(adopted?.url).toBe(a.handle.url);
    await get(`${a.handle.url}/print`);
    await until(() => h.lines.includes('line 4'));
    expect(h.lines).not.toContain('booting in app');
    await restarted.remove(b.handle.ref);
    await restarted.remove(b.handle.ref);
    expect(bed.fake.store.get('pods', NAMESPACE, b.handle.ref)).toBeUndefined();
    await adopted?.stop(2000);
    expect((await h.exit).code).toBe(0);
  });

  it('reports an OOM kill and an eviction as the runner exit reason', async () => {
    const bed = await setup();
    const a = await start(bed);
    const b = await start(bed);
    bed.fake.kubelet.oomKill(NAMESPACE, a.handle.ref);
    bed.fake.kubelet.evict(NAMESPACE, b.handle.ref);
    expect(await a.exit).toEqual({ code: 137, reason: 'OOMKilled' });
    expect((await b.exit).reason).toBe('Evicted');
    await until(() => bed.fake.store.list('pods', NAMESPACE, { matches: () => true } as never).length === 0);
  });

  it('image apps: DOCKER_PULL while the image is pulled; an image that cannot be pulled fails the start', async () => {
    const bed = await setup({
      images: {
        'acme/model:1': { entrypoint: [process.execPath, '-e', 'setInterval(()=>{},1000)'], pullMs: 300 },
      },
    });
    const r = await start(bed, { artifact: { kind: 'image', image: 'acme/model:1', command: null } });
    expect(r.phases.map(([p]) => p)).toEqual(['DOCKER_PULL', 'SETUP']);
    expect(r.phases[0]?.[1]).toBe('acme/model:1');
    r.handle.kill();
    await r.exit;
    const h = hooks();
    const failed = bed
      .driver()
      .start(spec(bed, { artifact: { kind: 'image', image: 'acme/missing:1', command: null } }), h.hooks);
    await expect(failed).rejects.toThrow(/ErrImagePull/);
    await until(() => bed.fake.store.list('pods', NAMESPACE, { matches: () => true } as never).length === 0);
  });

  it('waits for a GPU node in PENDING, and gives up after pending_timeout_s', async () => {
    const bed = await setup({ gpuCapacity: 0 });
    const gpu = { resources: { cpu: 2, memoryMb: 4096, gpus: { count: 1, product: null } } };
    const h = hooks();
    const starting = bed.driver().start(spec(bed, gpu), h.hooks);
    await until(() => h.phases.length > 0);
    expect(h.phases[0]).toEqual(['PENDING', '0/1 nodes are available: 1 Insufficient nvidia.com/gpu.']);
    const pod = bed.fake.store.list('pods', NAMESPACE, { matches: () => true } as never)[0];
    expect(pod?.['spec']['containers'][0]['resources']['limits']).toEqual({
      cpu: '2',
      memory: '4096Mi',
      'nvidia.com/gpu': '1',
    });
    bed.fake.kubelet.setGpuCapacity(1);
    const handle = await starting;
    await healthy(handle.url);
    handle.kill();
    await h.exit;

    bed.fake.kubelet.setGpuCapacity(0);
    const h2 = hooks();
    const quick = bed.driver({ pendingTimeoutS: 1 }).start(spec(bed, gpu), h2.hooks);
    await expect(quick).rejects.toThrow(/pending_timeout_s \(1s\)/);
    await until(() => bed.fake.store.list('pods', NAMESPACE, { matches: () => true } as never).length === 0);
    expect(BASE_IMAGE).toBeTruthy();
  });
});
