import { PassThrough } from 'node:stream';
import { ApiException, CoreV1Api, Log, Watch } from '@kubernetes/client-node';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type FakeKubeApi, startFakeKubeApi } from './fake-api-server.test-helper.js';
import type { KubeObject } from './fake-api-store.test-helper.js';
import { FAKE_PORTS_ANNOTATION } from './fake-kubelet.test-helper.js';

// The fake Kubernetes API server, checked with the real client: the driver's tests rely on these answers.
const NS = 'hangar';
const IMAGE = 'fake/node';

const APP = `
const http = require('node:http');
console.log('boot ' + process.env.GREETING);
http.createServer((q, s) => s.end('ok')).listen(+process.env.PORT, '127.0.0.1');
process.on('SIGTERM', () => { console.log('bye'); process.exit(0); });`;

function pod(name: string, over: KubeObject = {}): KubeObject {
  return {
    apiVersion: 'v1',
    kind: 'Pod',
    metadata: { name, labels: { app: 'x', run: name } },
    spec: {
      restartPolicy: 'Never',
      containers: [
        {
          name: 'runner',
          image: IMAGE,
          command: [process.execPath, '-e', APP],
          ports: [{ containerPort: 8080 }],
          env: [
            { name: 'PORT', value: '8080' },
            { name: 'GREETING', valueFrom: { secretKeyRef: { name: 's1', key: 'greeting' } } },
          ],
          readinessProbe: { httpGet: { path: '/', port: 8080 } },
          ...over,
        },
      ],
    },
  };
}

async function until<T>(check: () => Promise<T | undefined> | T | undefined, ms = 10_000): Promise<T> {
  const end = Date.now() + ms;
  for (;;) {
    const v = await check();
    if (v) return v;
    if (Date.now() > end) throw new Error('condition not met in time');
    await new Promise((r) => setTimeout(r, 20));
  }
}

describe('fake Kubernetes API server (with the real client)', () => {
  let fake: FakeKubeApi;
  let api: CoreV1Api;

  beforeAll(async () => {
    fake = await startFakeKubeApi({ gpuCapacity: 1, historyLimit: 40, images: { [IMAGE]: {} } });
    api = fake.kubeConfig().makeApiClient(CoreV1Api);
    await api.createNamespacedSecret({
      namespace: NS,
      body: { metadata: { name: 's1' }, stringData: { greeting: 'hi' } },
    });
  });
  afterAll(() => fake.close());

  it('answers 404 NotFound and 409 AlreadyExists with Status objects', async () => {
    const err = await api.readNamespacedPod({ namespace: NS, name: 'nope' }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ApiException);
    const body = JSON.parse((err as ApiException<string>).body);
    expect(body).toMatchObject({
      kind: 'Status',
      apiVersion: 'v1',
      status: 'Failure',
      reason: 'NotFound',
      code: 404,
    });
    const secret = { metadata: { name: 's1' }, stringData: { a: 'b' } };
    const clash = await api.createNamespacedSecret({ namespace: NS, body: secret }).catch((e: unknown) => e);
    expect((clash as ApiException<string>).code).toBe(409);
    expect(JSON.parse((clash as ApiException<string>).body).reason).toBe('AlreadyExists');
    const del = await api.deleteNamespacedPod({ namespace: NS, name: 'nope' }).catch((e: unknown) => e);
    expect((del as ApiException<string>).code).toBe(404);
  });

  it('runs a Pod: watch events in resourceVersion order, Ready from the probe, logs, graceful delete', async () => {
    const list = await api.listNamespacedPod({ namespace: NS, labelSelector: 'run=p1' });
    const events: Array<{ type: string; rv: number; obj: KubeObject }> = [];
    const ctl = await new Watch(fake.kubeConfig()).watch(
      `/api/v1/namespaces/${NS}/pods`,
      { resourceVersion: list.metadata?.resourceVersion, labelSelector: 'run=p1' },
      (type, obj: KubeObject) => events.push({ type, rv: Number(obj['metadata']['resourceVersion']), obj }),
      () => {},
    );
    await api.createNamespacedPod({ namespace: NS, body: pod('p1') });
    const ready = await until(() =>
      events.find((e) =>
        e.obj['status']?.['conditions']?.some(
          (c: KubeObject) => c['type'] === 'Ready' && c['status'] === 'True',
        ),
      ),
    );
    expect(ready.obj['status']['phase']).toBe('Running');
    expect(ready.obj['status']['podIP']).toBe('127.0.0.1');
    const port = JSON.parse(ready.obj['metadata']['annotations'][FAKE_PORTS_ANNOTATION])['8080'];
    expect(await (await fetch(`http://127.0.0.1:${port}/`)).text()).toBe('ok');

    const out = new PassThrough();
    let text = '';
    out.on('data', (c: Buffer) => {
      text += c.toString();
    });
    await new Log(fake.kubeConfig()).log(NS, 'p1', 'runner', out, { follow: true, timestamps: true });
    await until(() => text.includes('boot hi'));
    expect(text).toMatch(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{9}Z boot hi\n/);

    const deleted = await api.deleteNamespacedPod({ namespace: NS, name: 'p1', gracePeriodSeconds: 5 });
    expect(deleted.metadata?.deletionTimestamp).toBeTruthy();
    await until(() => events.find((e) => e.type === 'DELETED'));
    expect(text).toContain('bye');
    ctl.abort();
    expect(events[0]?.type).toBe('ADDED');
    const rvs = events.map((e) => e.rv);
    expect(rvs).toEqual([...rvs].sort((a, b) => a - b));
    expect(new Set(rvs).size).toBe(rvs.length);
  });

  it('keeps a GPU Pod Pending (Unschedulable) until the node has a free GPU; OOM kill ends it', async () => {
    const gpu = { resources: { limits: { 'nvidia.com/gpu': '1' } } };
    await api.createNamespacedPod({ namespace: NS, body: pod('g1', gpu) });
    await until(
      async () => (await api.readNamespacedPod({ namespace: NS, name: 'g1' })).status?.phase === 'Running',
    );
    await api.createNamespacedPod({ namespace: NS, body: pod('g2', gpu) });
    const pending = await until(async () => {
      const p = await api.readNamespacedPod({ namespace: NS, name: 'g2' });
      return p.status?.conditions?.find((c) => c.reason === 'Unschedulable') ? p : undefined;
    });
    expect(pending.status?.phase).toBe('Pending');
    fake.kubelet.oomKill(NS, 'g1');
    const dead = await until(async () => {
      const p = await api.readNamespacedPod({ namespace: NS, name: 'g1' });
      return p.status?.phase === 'Failed' ? p : undefined;
    });
    expect(dead.status?.containerStatuses?.[0]?.state?.terminated).toMatchObject({
      reason: 'OOMKilled',
      exitCode: 137,
    });
    await until(
      async () => (await api.readNamespacedPod({ namespace: NS, name: 'g2' })).status?.phase === 'Running',
    );
    await api.deleteNamespacedPod({ namespace: NS, name: 'g1' });
    await api.deleteNamespacedPod({ namespace: NS, name: 'g2', gracePeriodSeconds: 0 });
    const left = await api.listNamespacedPod({ namespace: NS });
    expect(left.items.map((p) => p.metadata?.name)).toEqual([]);
  });

  it('ends a watch from a resourceVersion older than its history with an ERROR 410 Expired event', async () => {
    const start = Number((await api.listNamespacedSecret({ namespace: NS })).metadata?.resourceVersion);
    for (let i = 0; i < 45; i++) {
      await api.createNamespacedSecret({
        namespace: NS,
        body: { metadata: { name: `churn-${i}` }, stringData: { k: 'v' } },
      });
    }
    const got: Array<[string, KubeObject]> = [];
    const done = new Promise((resolve) => {
      void new Watch(fake.kubeConfig()).watch(
        `/api/v1/namespaces/${NS}/secrets`,
        { resourceVersion: String(start) },
        (type, obj: KubeObject) => got.push([type, obj]),
        resolve,
      );
    });
    await done;
    expect(got).toHaveLength(1);
    expect(got[0]?.[0]).toBe('ERROR');
    expect(got[0]?.[1]).toMatchObject({ kind: 'Status', code: 410, reason: 'Expired' });
  });
});
