import type { FoundRunner, RunnerDriver, RunnerHooks } from '@hangar/core';
import { KubeConfig, type V1Pod } from '@kubernetes/client-node';
import type { KubernetesSettings } from '../../config-kubernetes.js';
import { KubeClient } from './kube-client.js';
import { labelsFromAnnotations, nodeSelector, podName, secretName } from './names.js';
import { type KubeRunnerSpec, runnerNetworkPolicy, runnerPodManifest } from './pod-manifest.js';
import { PodRunner } from './pod-runner.js';

export interface KubernetesDriverOptions {
  settings: KubernetesSettings;
  /** A client config; by default built from `settings.kubeconfig` (`in-cluster` or a file). */
  kubeConfig?: KubeConfig;
  /**
   * A short-lived URL a Pod can download a bundle archive from (`sha256:<hex>` digest), or null when the
   * object store has none (disk storage): bundle apps then cannot run on Kubernetes.
   */
  bundleUrl: (digest: string, ttlS: number) => Promise<string | null>;
  /**
   * Where a runner Pod serves: `podIP:runner_port` on a cluster. The one seam tests use: the fake API
   * server gives every Pod 127.0.0.1 and its own port.
   */
  address?: (pod: V1Pod, runnerPort: number) => string;
}

/** Builds the client config the settings name. */
export function loadKubeConfig(settings: KubernetesSettings): KubeConfig {
  const kc = new KubeConfig();
  if (settings.kubeconfig === 'in-cluster') kc.loadFromCluster();
  else kc.loadFromFile(settings.kubeconfig);
  if (settings.context) kc.setCurrentContext(settings.context);
  return kc;
}

/** A runner driver that runs each runner as a Pod in one namespace of a Kubernetes cluster. */
export function createKubernetesRunnerDriver(opts: KubernetesDriverOptions): RunnerDriver {
  const s = opts.settings;
  const client = new KubeClient(opts.kubeConfig ?? loadKubeConfig(s), s.namespace);
  const address = (pod: V1Pod) =>
    opts.address ? opts.address(pod, s.runnerPort) : `${pod.status?.podIP}:${s.runnerPort}`;
  let policy: Promise<void> | null = null;
  // Runners start only once their namespace denies the cluster's addresses; a failure is retried next start.
  const ensurePolicy = () => {
    policy ??= client.ensureNetworkPolicy(runnerNetworkPolicy(s)).catch((err: unknown) => {
      policy = null;
      throw err;
    });
    return policy;
  };

  return {
    kind: 'kubernetes',
    runsImages: true,

    async start(spec: KubeRunnerSpec, hooks: RunnerHooks, signal?: AbortSignal) {
      await ensurePolicy();
      let bundleUrl: string | null = null;
      if (spec.artifact.kind === 'bundle') {
        if (!spec.artifact.digest) {
          throw new Error(
            'this revision has no bundle digest (deployed before bundles); redeploy it to run on Kubernetes',
          );
        }
        bundleUrl = await opts.bundleUrl(spec.artifact.digest, s.bundleUrlTtlS);
        if (!bundleUrl)
          throw new Error('bundle apps on Kubernetes need object storage with signed URLs (s3://)');
      }
      signal?.throwIfAborted();
      const { pod, secret } = runnerPodManifest(spec, s, bundleUrl);
      const name = pod.metadata?.name as string;
      if (secret) await client.createSecret(secret);
      let created: V1Pod;
      try {
        created = await client.createPod(pod);
      } catch (err) {
        if (secret) await client.deleteSecret(secretName(name)).catch(() => {});
        throw err;
      }
      const runner = new PodRunner({
        client,
        name,
        runnerId: spec.runnerId,
        hooks,
        address,
        image: spec.artifact.kind === 'image',
        resourceVersion: created.metadata?.resourceVersion ?? '0',
        adopted: null,
      });
      // The app's startup_timeout counts from SETUP; before it, a Pod may wait this long for a node.
      const timer = setTimeout(
        () =>
          runner.abandon(
            `runner Pod still not started after kubernetes.pending_timeout_s (${s.pendingTimeoutS}s)`,
          ),
        s.pendingTimeoutS * 1000,
      );
      const onAbort = () => runner.abandon('start abandoned');
      signal?.addEventListener('abort', onAbort, { once: true });
      try {
        return await runner.started;
      } finally {
        clearTimeout(timer);
        signal?.removeEventListener('abort', onAbort);
      }
    },

    async discover(node) {
      const pods = await client.listPods(nodeSelector(node));
      const found: FoundRunner[] = [];
      for (const pod of pods) {
        const labels = labelsFromAnnotations(pod.metadata?.annotations);
        if (!labels || !pod.metadata?.name) continue;
        const phase = pod.status?.phase;
        const alive = (phase === 'Pending' || phase === 'Running') && !pod.metadata.deletionTimestamp;
        found.push({ ref: pod.metadata.name, labels, alive });
      }
      return found;
    },

    async remove(ref) {
      await client.deletePod(ref, 0);
      await client.deleteSecret(secretName(ref));
    },

    async adopt(found, hooks) {
      if (!found.alive) return null;
      const pod = await client.readPod(found.ref);
      const running = pod?.status?.containerStatuses?.find((c) => c.name === 'runner')?.state?.running;
      if (!pod || !running || pod.metadata?.deletionTimestamp || !pod.status?.podIP) return null;
      if (podName(found.labels.runnerId) !== found.ref) return null;
      const runner = new PodRunner({
        client,
        name: found.ref,
        runnerId: found.labels.runnerId,
        hooks,
        address,
        image: false,
        resourceVersion: pod.metadata?.resourceVersion ?? '0',
        adopted: pod,
      });
      return runner.started;
    },
  };
}
