import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import type { FakeObjectStore, KubeObject } from './fake-api-store.test-helper.js';

/** What a fake image "contains": its entrypoint (used when a container gives no command) and pull time. */
export interface FakeImage {
  entrypoint?: string[];
  pullMs?: number;
}

/** `nvidia.com/gpu` a Pod asks for (limits of its containers). */
export function podGpus(pod: KubeObject): number {
  let n = 0;
  for (const c of pod['spec']?.['containers'] ?? [])
    n += Number(c['resources']?.['limits']?.['nvidia.com/gpu'] ?? 0);
  return n;
}

/** Null when the fake node can take the Pod, else the scheduler's message. Taints are not modelled. */
export function schedulable(
  pod: KubeObject,
  freeGpus: number,
  nodeLabels: Record<string, string>,
): string | null {
  const selector = (pod['spec']?.['nodeSelector'] ?? {}) as Record<string, string>;
  const mismatch = Object.entries(selector).some(([k, v]) => nodeLabels[k] !== v);
  if (mismatch) return "0/1 nodes are available: 1 node(s) didn't match Pod's node affinity/selector.";
  if (podGpus(pod) > freeGpus) return '0/1 nodes are available: 1 Insufficient nvidia.com/gpu.';
  return null;
}

/**
 * Volume mounts as path rewriting: each mounted volume is a directory under the Pod's directory, and a
 * path at or under a `mountPath` maps into it (the fake cannot mount, so only `workingDir` and env values
 * that are such paths are rewritten; a path written inside a command string is not).
 */
export function mountMap(c: KubeObject, podDir: string): (path: string) => string {
  const mounts: Array<[string, string]> = [];
  for (const m of c['volumeMounts'] ?? []) {
    const dir = join(podDir, 'volumes', m['name']);
    mkdirSync(dir, { recursive: true });
    mounts.push([String(m['mountPath']).replace(/\/$/, ''), dir]);
  }
  mounts.sort((a, b) => b[0].length - a[0].length);
  return (path) => {
    for (const [at, dir] of mounts) {
      if (path === at) return dir;
      if (path.startsWith(`${at}/`)) return dir + path.slice(at.length);
    }
    return path;
  };
}

function secretData(store: FakeObjectStore, ns: string, name: string): Record<string, string> | null {
  const s = store.get('secrets', ns, name);
  if (!s) return null;
  const out: Record<string, string> = {};
  for (const [k, v] of Object.entries(s['data'] ?? {}))
    out[k] = Buffer.from(String(v), 'base64').toString('utf8');
  for (const [k, v] of Object.entries(s['stringData'] ?? {})) out[k] = String(v);
  return out;
}

/**
 * The process environment of a container: `PATH` of this machine (an image's own environment is not
 * modelled), `envFrom` Secrets, then `env` (values, `secretKeyRef`), with mount paths rewritten and
 * `PORT` mapped to the 127.0.0.1 port the fake gave that containerPort. A string is the error a real
 * kubelet reports as `CreateContainerConfigError`.
 */
export function containerEnv(
  store: FakeObjectStore,
  ns: string,
  c: KubeObject,
  podDir: string,
  ports: Record<string, number>,
): Record<string, string> | string {
  const env: Record<string, string> = { PATH: process.env['PATH'] ?? '/usr/bin:/bin' };
  const map = mountMap(c, podDir);
  for (const from of c['envFrom'] ?? []) {
    const name = from['secretRef']?.['name'];
    if (!name) continue;
    const data = secretData(store, ns, name);
    if (!data) return `secret "${name}" not found`;
    Object.assign(env, data);
  }
  for (const e of c['env'] ?? []) {
    const ref = e['valueFrom']?.['secretKeyRef'];
    if (ref) {
      const data = secretData(store, ns, ref['name']);
      if (!data) return `secret "${ref['name']}" not found`;
      if (data[ref['key']] === undefined)
        return `couldn't find key ${ref['key']} in Secret ${ns}/${ref['name']}`;
      env[e['name']] = data[ref['key']] as string;
    } else {
      env[e['name']] = map(String(e['value'] ?? ''));
    }
  }
  const mapped = env['PORT'] !== undefined ? ports[env['PORT']] : undefined;
  if (mapped !== undefined) env['PORT'] = String(mapped);
  return env;
}

/** Now, at the second precision of Kubernetes timestamps. */
export const now = (): string => new Date().toISOString().replace(/\.\d+Z$/, 'Z');

/** A Pod condition as the real API writes it. */
export function condition(type: string, status: string, reason?: string, message?: string): KubeObject {
  return {
    type,
    status,
    lastTransitionTime: now(),
    ...(reason ? { reason } : {}),
    ...(message ? { message } : {}),
  };
}

/** A container status in state `waiting`. */
export function waitingStatus(c: KubeObject, reason: string, message?: string): KubeObject {
  return {
    name: c['name'],
    image: c['image'],
    ready: false,
    restartCount: 0,
    started: false,
    state: { waiting: { reason, ...(message ? { message } : {}) } },
  };
}

/** Pod status once its container started: Running on 127.0.0.1, not Ready until the probe passes. */
export function runningStatus(status: KubeObject, main: KubeObject): KubeObject {
  const startedAt = now();
  return {
    ...status,
    phase: 'Running',
    podIP: '127.0.0.1',
    podIPs: [{ ip: '127.0.0.1' }],
    startTime: startedAt,
    conditions: [
      condition('PodScheduled', 'True'),
      condition('Initialized', 'True'),
      condition('ContainersReady', 'False', 'ContainersNotReady'),
      condition('Ready', 'False', 'ContainersNotReady'),
    ],
    containerStatuses: [
      {
        name: main['name'],
        image: main['image'],
        ready: false,
        restartCount: 0,
        started: true,
        state: { running: { startedAt } },
      },
    ],
  };
}
