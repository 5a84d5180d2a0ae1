import { type ChildProcess, spawn } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { freePort, signalGroup } from '../../runners/process-driver.js';
import type { FakeObjectStore, KubeObject } from './fake-api-store.test-helper.js';
import { ContainerLog } from './fake-pod-logs.test-helper.js';
import {
  condition,
  containerEnv,
  type FakeImage,
  mountMap,
  now,
  podGpus,
  runningStatus,
  schedulable,
  waitingStatus,
} from './fake-pod-spec.test-helper.js';

/** Annotation where the fake records the 127.0.0.1 port each declared containerPort was given. */
export const FAKE_PORTS_ANNOTATION = 'fake.hangar.test/ports';

export interface FakeKubeletOptions {
  /** `nvidia.com/gpu` the one fake node has. */
  gpuCapacity: number;
  /** Labels of the one fake node (nodeSelector matches against them). */
  nodeLabels: Record<string, string>;
  /** What an image "contains"; an image not listed fails to pull (ErrImagePull). */
  images: Record<string, FakeImage>;
  /** Readiness probe interval (a real kubelet uses the probe's periodSeconds). */
  probeIntervalMs: number;
}

interface Running {
  ns: string;
  name: string;
  dir: string;
  ports: Record<string, number>;
  child: ChildProcess | null;
  logs: Map<string, ContainerLog>;
  ready: boolean;
  timers: NodeJS.Timeout[];
  /** Why the kubelet killed the container, reported in its terminated state. */
  killReason: string | null;
  stopped: boolean;
}

const RES = 'pods';

/**
 * The fake's one node: schedules Pods against its GPU capacity and labels, "pulls" images, runs init
 * containers then the first container as local process groups, probes readiness, keeps logs, and ends
 * Pods on delete (grace period), exit, eviction or OOM kill. Only what the driver depends on.
 */
export class FakeKubelet {
  private readonly pods = new Map<string, Running>();
  private readonly waiting = new Set<string>();

  constructor(
    private readonly store: FakeObjectStore,
    private readonly opts: FakeKubeletOptions,
  ) {}

  private key(ns: string, name: string): string {
    return `${ns}/${name}`;
  }

  running(ns: string, name: string): Running | undefined {
    return this.pods.get(this.key(ns, name));
  }

  /** A new Pod was created: tries to schedule it. */
  admit(ns: string, name: string): void {
    this.waiting.add(this.key(ns, name));
    setImmediate(() => this.scheduleWaiting());
  }

  setGpuCapacity(n: number): void {
    this.opts.gpuCapacity = n;
    this.scheduleWaiting();
  }

  private gpusInUse(): number {
    let used = 0;
    for (const r of this.pods.values()) {
      const pod = this.store.get(RES, r.ns, r.name);
      if (pod && !r.stopped) used += podGpus(pod);
    }
    return used;
  }

  private scheduleWaiting(): void {
    for (const k of [...this.waiting]) {
      const [ns, name] = k.split('/') as [string, string];
      const pod = this.store.get(RES, ns, name);
      if (!pod) {
        this.waiting.delete(k);
        continue;
      }
      const why = schedulable(pod, this.opts.gpuCapacity - this.gpusInUse(), this.opts.nodeLabels);
      if (why !== null) {
        const cond = (pod['status']?.['conditions'] ?? [])[0];
        if (cond?.['reason'] !== 'Unschedulable') {
          this.store.modify(RES, ns, name, (p) => {
            p['status'] = {
              phase: 'Pending',
              conditions: [condition('PodScheduled', 'False', 'Unschedulable', why)],
            };
          });
        }
        continue;
      }
      this.waiting.delete(k);
      void this.startPod(pod);
    }
  }

  private async startPod(pod: KubeObject): Promise<void> {
    const ns = pod['metadata']['namespace'] as string;
    const name = pod['metadata']['name'] as string;
    const dir = mkdtempSync(join(tmpdir(), 'hangar-fake-pod-'));
    const r: Running = {
      ns,
      name,
      dir,
      ports: {},
      child: null,
      logs: new Map(),
      ready: false,
      timers: [],
      killReason: null,
      stopped: false,
    };
    this.pods.set(this.key(ns, name), r);
    const main = pod['spec']['containers'][0];
    for (const p of main['ports'] ?? []) r.ports[String(p['containerPort'])] = await freePort();
    this.update(r, (p) => {
      p['metadata']['annotations'] = {
        ...p['metadata']['annotations'],
        [FAKE_PORTS_ANNOTATION]: JSON.stringify(r.ports),
      };
      p['spec']['nodeName'] = 'fake-node';
      p['status'] = {
        phase: 'Pending',
        hostIP: '127.0.0.1',
        conditions: [condition('PodScheduled', 'True')],
        containerStatuses: [waitingStatus(main, 'ContainerCreating')],
      };
    });
    const containers = [...(pod['spec']['initContainers'] ?? []), main];
    if (!(await this.pullAll(r, containers))) return;
    for (const init of pod['spec']['initContainers'] ?? []) {
      const code = await this.runToEnd(r, init);
      if (r.stopped) return;
      if (code !== 0) return this.finish(r, main, code, null, 'Error', 'Init container failed');
    }
    this.update(r, (p) => p['status']['conditions'].push(condition('Initialized', 'True')));
    this.startMain(r, pod, main);
  }

  private async pullAll(r: Running, containers: KubeObject[]): Promise<boolean> {
    for (const c of containers) {
      const image = this.opts.images[c['image']];
      if (!image) {
        this.update(r, (p) => {
          p['status']['containerStatuses'] = [
            waitingStatus(c, 'ErrImagePull', `pull access denied for ${c['image']}`),
          ];
        });
        return false;
      }
      if (image.pullMs) await new Promise((res) => setTimeout(res, image.pullMs));
      if (r.stopped) return false;
    }
    return true;
  }

  private spawnContainer(r: Running, c: KubeObject): ChildProcess | string {
    const env = containerEnv(this.store, r.ns, c, r.dir, r.ports);
    if (typeof env === 'string') return env;
    const mounts = mountMap(c, r.dir);
    const image = this.opts.images[c['image']] as FakeImage;
    const argv = [...(c['command'] ?? image.entrypoint ?? []), ...(c['args'] ?? [])] as string[];
    const [file, ...args] = argv;
    if (!file) return 'no command';
    const cwd = c['workingDir'] ? mounts(c['workingDir']) : r.dir;
    mkdirSync(cwd, { recursive: true });
    const child = spawn(file, args, { cwd, env, detached: true, stdio: ['ignore', 'pipe', 'pipe'] });
    child.on('error', () => {});
    const log = new ContainerLog();
    r.logs.set(c['name'], log);
    child.stdout?.on('data', (b: Buffer) => log.write('stdout', b));
    child.stderr?.on('data', (b: Buffer) => log.write('stderr', b));
    child.once('close', () => log.end());
    return child;
  }

  private runToEnd(r: Running, c: KubeObject): Promise<number> {
    const child = this.spawnContainer(r, c);
    if (typeof child === 'string') return Promise.resolve(1);
    r.child = child;
    return new Promise((res) => child.once('close', (code) => res(code ?? 137)));
  }

  private startMain(r: Running, pod: KubeObject, main: KubeObject): void {
    const child = this.spawnContainer(r, main);
    if (typeof child === 'string') {
      // A real kubelet keeps retrying a container whose config cannot be built (missing Secret).
      this.update(r, (p) => {
        p['status']['containerStatuses'] = [waitingStatus(main, 'CreateContainerConfigError', child)];
      });
      r.timers.push(setTimeout(() => !r.stopped && this.startMain(r, pod, main), 200));
      return;
    }
    r.child = child;
    this.update(r, (p) => {
      p['status'] = runningStatus(p['status'], main);
    });
    child.once('exit', (code, signal) => {
      signalGroup(child.pid as number, 'SIGKILL');
      const exit = code ?? 128 + (signal === 'SIGKILL' ? 9 : 15);
      this.finish(r, main, exit, signal, r.killReason ?? (exit === 0 ? 'Completed' : 'Error'));
    });
    this.probe(r, main);
  }

  private probe(r: Running, main: KubeObject): void {
    const http = main['readinessProbe']?.['httpGet'];
    const setReady = (ready: boolean) => {
      if (ready === r.ready || r.stopped) return;
      r.ready = ready;
      const v = ready ? 'True' : 'False';
      this.update(r, (p) => {
        for (const c of p['status']['conditions']) {
          if (c.type === 'Ready' || c.type === 'ContainersReady')
            Object.assign(c, condition(c.type, v, ready ? undefined : 'ContainersNotReady'));
        }
        p['status']['containerStatuses'][0]['ready'] = ready;
      });
    };
    if (!http) {
      setReady(true);
      return;
    }
    const port = r.ports[String(http['port'])] ?? Number(http['port']);
    const tick = async () => {
      if (r.stopped) return;
      const ok = await fetch(`http://127.0.0.1:${port}${http['path'] ?? '/'}`, {
        signal: AbortSignal.timeout(1000),
      })
        .then((res) => res.status >= 200 && res.status < 400)
        .catch(() => false);
      setReady(ok);
      if (!r.stopped) r.timers.push(setTimeout(tick, this.opts.probeIntervalMs));
    };
    void tick();
  }

  /** The Pod's container ended: records it, and removes a Pod being deleted. */
  private finish(
    r: Running,
    main: KubeObject,
    exitCode: number,
    signal: string | null,
    reason: string,
    message?: string,
  ): void {
    if (r.stopped && !this.store.get(RES, r.ns, r.name)) {
      this.release(r);
      return;
    }
    r.stopped = true;
    for (const t of r.timers) clearTimeout(t);
    const pod = this.store.get(RES, r.ns, r.name);
    if (!pod) {
      this.release(r);
      return;
    }
    const finishedAt = now();
    this.update(r, (p) => {
      const evicted = p['status']['reason'] === 'Evicted';
      p['status']['phase'] = exitCode === 0 && !evicted ? 'Succeeded' : 'Failed';
      if (message && !evicted) p['status']['message'] = message;
      for (const c of p['status']['conditions'] ?? []) {
        if (c.type === 'Ready' || c.type === 'ContainersReady')
          Object.assign(c, condition(c.type, 'False', 'PodCompleted'));
      }
      const terminated = {
        exitCode,
        reason,
        ...(signal ? { signal: signal === 'SIGKILL' ? 9 : 15 } : {}),
        finishedAt,
      };
      p['status']['containerStatuses'] = [
        {
          name: main['name'],
          image: main['image'],
          ready: false,
          restartCount: 0,
          started: false,
          state: { terminated },
        },
      ];
    });
    if (pod['metadata']['deletionTimestamp']) this.store.remove(RES, r.ns, r.name);
    this.release(r);
  }

  private release(r: Running): void {
    const k = this.key(r.ns, r.name);
    // Logs of an ended container stay readable until its Pod is deleted.
    if (this.pods.get(k) === r && !this.store.get(RES, r.ns, r.name)) this.pods.delete(k);
    for (const t of r.timers) clearTimeout(t);
    for (const log of r.logs.values()) log.end();
    rmSync(r.dir, { recursive: true, force: true });
    this.scheduleWaiting();
  }

  private update(r: Running, change: (p: KubeObject) => void): void {
    if (this.store.get(RES, r.ns, r.name)) this.store.modify(RES, r.ns, r.name, change);
  }

  /** API delete: graceful (SIGTERM, SIGKILL after the grace period) or, at 0, immediate. */
  delete(ns: string, name: string, graceS: number): KubeObject {
    const pod = this.store.read(RES, ns, name);
    const r = this.running(ns, name);
    const alive = r?.child && r.child.exitCode === null && r.child.signalCode === null && !r.stopped;
    if (!r || !alive || graceS === 0) {
      const gone = this.store.remove(RES, ns, name);
      if (r?.stopped) this.pods.delete(this.key(ns, name));
      if (r) this.kill(r, 'SIGKILL');
      this.waiting.delete(this.key(ns, name));
      return gone;
    }
    if (pod['metadata']['deletionTimestamp']) return pod;
    const marked = this.store.modify(RES, ns, name, (p) => {
      p['metadata']['deletionTimestamp'] = new Date(Date.now() + graceS * 1000)
        .toISOString()
        .replace(/\.\d+Z$/, 'Z');
      p['metadata']['deletionGracePeriodSeconds'] = graceS;
    });
    this.kill(r, 'SIGTERM');
    r.timers.push(setTimeout(() => this.kill(r, 'SIGKILL'), graceS * 1000));
    return marked;
  }

  private kill(r: Running, signal: NodeJS.Signals): void {
    if (r.child?.pid) signalGroup(r.child.pid, signal);
    if (signal === 'SIGKILL' && !r.child) {
      r.stopped = true;
      this.release(r);
    }
  }

  /** Knob: the kernel's OOM killer ends the container (`reason: OOMKilled`, exit 137). */
  oomKill(ns: string, name: string): void {
    const r = this.running(ns, name);
    if (!r) throw new Error(`fake: pod ${name} is not running`);
    r.killReason = 'OOMKilled';
    this.kill(r, 'SIGKILL');
  }

  /** Knob: node-pressure eviction (Pod `Failed`, `reason: Evicted`). */
  evict(ns: string, name: string): void {
    const r = this.running(ns, name);
    if (!r) throw new Error(`fake: pod ${name} is not running`);
    this.update(r, (p) => {
      p['status']['reason'] = 'Evicted';
      p['status']['message'] = 'The node was low on resource: memory.';
    });
    this.kill(r, 'SIGKILL');
  }

  /** Stops every Pod process (the fake server closing). */
  closeAll(): void {
    for (const r of this.pods.values()) {
      r.stopped = true;
      for (const t of r.timers) clearTimeout(t);
      if (r.child?.pid) signalGroup(r.child.pid, 'SIGKILL');
      for (const log of r.logs.values()) log.end();
      rmSync(r.dir, { recursive: true, force: true });
    }
  }
}
