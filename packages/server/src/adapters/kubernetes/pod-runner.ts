import type { RunnerHandle, RunnerHooks } from '@hangar/core';
import type { V1ContainerStatus, V1Pod } from '@kubernetes/client-node';
import { isGone, type KubeClient, type PodEvent } from './kube-client.js';
import { LABEL, labelValue, secretName } from './names.js';
import { PodLogFollower } from './pod-logs.js';

/** Waiting reasons after which a container never starts without a change to the Pod. */
const FATAL_WAITING = new Set([
  'ErrImagePull',
  'ImagePullBackOff',
  'InvalidImageName',
  'CreateContainerError',
]);
/** How long the last log lines may take to arrive once the Pod ended. */
const LOG_DRAIN_MS = 1000;
const REWATCH_MS = 200;

export interface PodRunnerOptions {
  client: KubeClient;
  name: string;
  runnerId: string;
  hooks: RunnerHooks;
  /** `host:port` the runner serves at, from its Pod (podIP and the runner port on a cluster). */
  address: (pod: V1Pod) => string;
  /** Image apps report DOCKER_PULL while the container is being created. */
  image: boolean;
  /** Resource version to watch from: the created Pod's, or the adopted Pod's. */
  resourceVersion: string;
  /** Set when adopting a running Pod: its URL is known and logs are followed from now. */
  adopted: V1Pod | null;
}

/**
 * One runner Pod seen through a watch: reports phases, resolves `started` with a handle once the
 * container runs, follows its log, and reports the end (deleted, failed, evicted, OOM-killed) once.
 * Owns the cleanup of its Pod and Secret.
 */
export class PodRunner {
  readonly started: Promise<RunnerHandle>;
  private resolveStart!: (h: RunnerHandle) => void;
  private rejectStart!: (e: Error) => void;
  private handle: RunnerHandle | null = null;
  private phases = new Set<string>();
  private rv: string;
  private stopWatch: (() => void) | null = null;
  private logs: PodLogFollower | null = null;
  private ended = false;
  private resolveExit!: () => void;
  private readonly exited = new Promise<void>((r) => {
    this.resolveExit = r;
  });

  constructor(private readonly o: PodRunnerOptions) {
    this.rv = o.resourceVersion;
    this.started = new Promise((resolve, reject) => {
      this.resolveStart = resolve;
      this.rejectStart = reject;
    });
    // A start the caller abandoned must not surface as an unhandled rejection.
    this.started.catch(() => {});
    if (o.adopted) this.run(o.adopted, new Date());
    this.watch();
  }

  /** Ends a start that has not finished (timeout, abort): rejects it and deletes everything. */
  abandon(why: string): void {
    if (this.handle || this.ended) return;
    this.ended = true;
    this.stopWatch?.();
    this.rejectStart(new Error(why));
    void this.cleanup();
  }

  private watch(): void {
    this.stopWatch = this.o.client.watchPods(
      `${LABEL.runner}=${labelValue(this.o.runnerId)}`,
      this.rv,
      (e) => this.onEvent(e),
      (err) => {
        if (this.ended) return;
        if (isGone(err)) void this.relist();
        else setTimeout(() => !this.ended && this.watch(), REWATCH_MS).unref();
      },
    );
  }

  /** The watch fell too far behind (410): reads the Pod afresh and watches from there. */
  private async relist(): Promise<void> {
    this.stopWatch?.();
    const pod = await this.o.client.readPod(this.o.name).catch(() => undefined);
    if (this.ended) return;
    if (pod === undefined) {
      void setTimeout(() => void this.relist(), REWATCH_MS).unref();
      return;
    }
    if (pod === null) {
      this.gone(null);
      return;
    }
    this.rv = pod.metadata?.resourceVersion ?? this.rv;
    this.observe(pod);
    if (!this.ended) this.watch();
  }

  private onEvent(e: PodEvent): void {
    if (this.ended) return;
    if (e.type === 'EXPIRED') {
      void this.relist();
      return;
    }
    if (e.pod.metadata?.name !== this.o.name) return;
    this.rv = e.pod.metadata?.resourceVersion ?? this.rv;
    if (e.type === 'DELETED') {
      this.gone(e.pod);
      return;
    }
    this.observe(e.pod);
  }

  private observe(pod: V1Pod): void {
    const status = pod.status;
    const cs = runnerStatus(pod);
    const state = cs?.state;
    if (state?.running || state?.terminated) this.run(pod, null);
    if (status?.phase === 'Failed' || status?.phase === 'Succeeded') {
      this.gone(pod);
      return;
    }
    if (this.handle) return;
    const unscheduled = status?.conditions?.find((c) => c.type === 'PodScheduled' && c.status === 'False');
    if (unscheduled) this.phase('PENDING', unscheduled.message ?? unscheduled.reason);
    const waiting = state?.waiting;
    if (waiting?.reason && FATAL_WAITING.has(waiting.reason)) {
      this.abandon(
        `container cannot start: ${waiting.reason}${waiting.message ? ` (${waiting.message})` : ''}`,
      );
      return;
    }
    if (this.o.image && pod.spec?.nodeName && waiting?.reason === 'ContainerCreating') {
      this.phase('DOCKER_PULL', pod.spec.containers[0]?.image);
    }
  }

  private phase(p: 'PENDING' | 'DOCKER_PULL' | 'SETUP', detail?: string): void {
    if (this.phases.has(p) || (p !== 'SETUP' && this.phases.has('SETUP'))) return;
    this.phases.add(p);
    this.o.hooks.onPhase(p, detail);
  }

  /** The container started: SETUP, the handle, and the log. */
  private run(pod: V1Pod, logsFrom: Date | null): void {
    if (this.handle) return;
    this.phase('SETUP', pod.spec?.nodeName);
    const o = this.o;
    this.logs = new PodLogFollower(
      o.client,
      o.name,
      'runner',
      (line) => o.hooks.onLine('stdout', line),
      logsFrom,
    );
    this.handle = {
      runnerId: o.runnerId,
      url: `http://${o.address(pod)}`,
      ref: o.name,
      gpus: [],
      stop: (graceMs) => {
        if (!this.ended) void o.client.deletePod(o.name, Math.ceil(graceMs / 1000)).catch(() => {});
        return this.exited;
      },
      kill: () => {
        if (!this.ended) void o.client.deletePod(o.name, 0).catch(() => {});
      },
    };
    this.resolveStart(this.handle);
  }

  /** The Pod ended or vanished: reports it once (after its last log lines) and cleans up. */
  private gone(pod: V1Pod | null): void {
    if (this.ended) return;
    this.ended = true;
    this.stopWatch?.();
    const terminated = pod ? runnerStatus(pod)?.state?.terminated : undefined;
    const reason = pod?.status?.reason ?? terminated?.reason ?? (pod ? undefined : 'Deleted');
    if (!this.handle) {
      this.rejectStart(
        new Error(`runner Pod ended before its container started${reason ? ` (${reason})` : ''}`),
      );
      void this.cleanup();
      return;
    }
    const code = terminated?.exitCode ?? null;
    void (this.logs as PodLogFollower).drained(LOG_DRAIN_MS).then(async () => {
      this.logs?.stop();
      await this.cleanup();
      this.o.hooks.onExit(code, null, reason === 'Completed' ? undefined : reason);
      this.resolveExit();
    });
  }

  private async cleanup(): Promise<void> {
    this.logs?.stop();
    await Promise.all([
      this.o.client.deletePod(this.o.name, 0).catch(() => {}),
      this.o.client.deleteSecret(secretName(this.o.name)).catch(() => {}),
    ]);
  }
}

function runnerStatus(pod: V1Pod): V1ContainerStatus | undefined {
  return pod.status?.containerStatuses?.find((c) => c.name === 'runner');
}
