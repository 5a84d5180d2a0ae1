import type { RunnerSpec } from '@hangar/core';
import type { V1Container, V1NetworkPolicy, V1Pod, V1Secret, V1Toleration } from '@kubernetes/client-node';
import type { KubernetesSettings } from '../../config-kubernetes.js';
import { LABEL, podName, runnerAnnotations, runnerLabels, secretName } from './names.js';

/** Where the bundle is unpacked, `DATA_DIR` and `/tmp` inside a runner Pod. */
export const APP_DIR = '/app';
export const DATA_DIR = '/data';
/** Secret key of the signed bundle URL; only the init container reads it. */
export const BUNDLE_URL_KEY = 'HANGAR_BUNDLE_URL';

/**
 * The init container's script: download the bundle archive and unpack it into the app volume. The
 * archive was checked when it was deployed (no links, no devices); tar runs as the non-root runner uid
 * on an empty volume.
 */
const FETCH_SCRIPT = 'set -eu; curl -fsS --retry 3 "$HANGAR_BUNDLE_URL" | tar -xzf - -C "$HANGAR_APP_DIR"';

export interface PodManifest {
  pod: V1Pod;
  /** The runner's Secret (app secrets, the bundle URL), or null when it has none. */
  secret: V1Secret | null;
}

/** A runner spec with the app's secrets (kept apart from `env` so they go in a Secret object). */
export type KubeRunnerSpec = RunnerSpec;

/** The Pod (and Secret) of one runner; `bundleUrl` is set for bundle artifacts. */
export function runnerPodManifest(
  spec: KubeRunnerSpec,
  k: KubernetesSettings,
  bundleUrl: string | null,
): PodManifest {
  const name = podName(spec.runnerId);
  const metadata = { name, labels: runnerLabels(spec.labels), annotations: runnerAnnotations(spec.labels) };
  const secrets = spec.secrets ?? {};
  const secretData: Record<string, string> = {
    ...secrets,
    ...(bundleUrl ? { [BUNDLE_URL_KEY]: bundleUrl } : {}),
  };
  const secret: V1Secret | null =
    Object.keys(secretData).length > 0
      ? {
          apiVersion: 'v1',
          kind: 'Secret',
          metadata: { ...metadata, name: secretName(name) },
          type: 'Opaque',
          stringData: secretData,
        }
      : null;
  const main = runnerContainer(spec, k, secret ? secretName(name) : null);
  const bundle = spec.artifact.kind === 'bundle';
  const placement = readPlacement(spec.placement);
  const pod: V1Pod = {
    apiVersion: 'v1',
    kind: 'Pod',
    metadata,
    spec: {
      restartPolicy: 'Never',
      automountServiceAccountToken: false,
      enableServiceLinks: false,
      ...(k.serviceAccount ? { serviceAccountName: k.serviceAccount } : {}),
      ...(k.imagePullSecrets.length
        ? { imagePullSecrets: k.imagePullSecrets.map((n) => ({ name: n })) }
        : {}),
      securityContext: {
        runAsNonRoot: true,
        runAsUser: k.runAsUser,
        runAsGroup: k.runAsUser,
        fsGroup: k.runAsUser,
        seccompProfile: { type: 'RuntimeDefault' },
      },
      ...(placement.nodeSelector ? { nodeSelector: placement.nodeSelector } : {}),
      ...(placement.tolerations ? { tolerations: placement.tolerations } : {}),
      volumes: [
        { name: 'tmp', emptyDir: { sizeLimit: `${k.tmpMb}Mi` } },
        { name: 'data', emptyDir: { sizeLimit: `${k.tmpMb}Mi` } },
        ...(bundle ? [{ name: 'app', emptyDir: {} }] : []),
      ],
      ...(bundle ? { initContainers: [fetchContainer(k, secretName(name))] } : {}),
      containers: [main],
    },
  };
  return { pod, secret };
}

const containerSecurity = {
  allowPrivilegeEscalation: false,
  readOnlyRootFilesystem: true,
  runAsNonRoot: true,
  capabilities: { drop: ['ALL'] },
};

function fetchContainer(k: KubernetesSettings, secret: string): V1Container {
  return {
    name: 'fetch-bundle',
    image: k.baseImage,
    command: ['sh', '-c', FETCH_SCRIPT],
    env: [
      { name: 'HANGAR_APP_DIR', value: APP_DIR },
      { name: BUNDLE_URL_KEY, valueFrom: { secretKeyRef: { name: secret, key: BUNDLE_URL_KEY } } },
    ],
    resources: { limits: { cpu: '500m', memory: '256Mi' }, requests: { cpu: '100m', memory: '64Mi' } },
    securityContext: containerSecurity,
    volumeMounts: [
      { name: 'app', mountPath: APP_DIR },
      { name: 'tmp', mountPath: '/tmp' },
    ],
  };
}

function runnerContainer(spec: KubeRunnerSpec, k: KubernetesSettings, secret: string | null): V1Container {
  const a = spec.artifact;
  const env = [
    ...Object.entries(spec.env)
      .filter(([key]) => !['PORT', 'DATA_DIR', 'HOME'].includes(key))
      .map(([name, value]) => ({ name, value })),
    { name: 'PORT', value: String(k.runnerPort) },
    { name: 'DATA_DIR', value: DATA_DIR },
    { name: 'HOME', value: '/tmp' },
    { name: 'PYTHONUNBUFFERED', value: '1' },
    // Secrets by name only: the values live in the Secret object, never in the Pod spec.
    ...Object.keys(spec.secrets ?? {}).map((key) => ({
      name: key,
      valueFrom: { secretKeyRef: { name: secret as string, key } },
    })),
  ];
  const r = spec.resources;
  const cpu = String(r.cpu ?? k.defaultCpu);
  const memory = `${r.memoryMb ?? k.defaultMemoryMb}Mi`;
  const gpus: Record<string, string> =
    r.gpus && r.gpus.count > 0 ? { 'nvidia.com/gpu': String(r.gpus.count) } : {};
  return {
    name: 'runner',
    image: a.kind === 'image' ? a.image : k.baseImage,
    ...(a.kind === 'bundle'
      ? { command: a.command, workingDir: APP_DIR }
      : a.command
        ? { command: a.command }
        : {}),
    env,
    ports: [{ name: 'http', containerPort: k.runnerPort, protocol: 'TCP' }],
    readinessProbe: {
      httpGet: { path: spec.healthPath, port: k.runnerPort },
      periodSeconds: 1,
      timeoutSeconds: 1,
      failureThreshold: 3,
    },
    resources: { requests: { cpu, memory, ...gpus }, limits: { cpu, memory, ...gpus } },
    securityContext: containerSecurity,
    volumeMounts: [
      { name: 'tmp', mountPath: '/tmp' },
      { name: 'data', mountPath: DATA_DIR },
      ...(a.kind === 'bundle' ? [{ name: 'app', mountPath: APP_DIR, readOnly: true }] : []),
    ],
  };
}

/** A machine type's placement `{ kubernetes: { node_selector, tolerations } }`. */
export function readPlacement(placement: Record<string, unknown> | null): {
  nodeSelector: Record<string, string> | null;
  tolerations: V1Toleration[] | null;
} {
  const p = (placement?.['kubernetes'] ?? null) as Record<string, unknown> | null;
  const sel = (p?.['node_selector'] ?? p?.['nodeSelector'] ?? null) as Record<string, string> | null;
  const tol = (p?.['tolerations'] ?? null) as V1Toleration[] | null;
  return {
    nodeSelector: sel && Object.keys(sel).length ? { ...sel } : null,
    tolerations: tol?.length ? [...tol] : null,
  };
}

/** Name of the NetworkPolicy the driver keeps in its namespace. */
export const NETWORK_POLICY_NAME = 'hangar-runners';

/**
 * Runners take connections from Hangar's Pods only, and reach DNS plus any address outside the denied
 * (cluster-internal) ranges: they can download models from the internet but not reach the cluster.
 */
export function runnerNetworkPolicy(k: KubernetesSettings): V1NetworkPolicy {
  return {
    apiVersion: 'networking.k8s.io/v1',
    kind: 'NetworkPolicy',
    metadata: { name: NETWORK_POLICY_NAME, labels: { [LABEL.managedBy]: 'hangar' } },
    spec: {
      podSelector: { matchLabels: { [LABEL.managedBy]: 'hangar', [LABEL.component]: 'runner' } },
      policyTypes: ['Ingress', 'Egress'],
      ingress: [
        {
          _from: [{ namespaceSelector: {}, podSelector: { matchLabels: { ...k.hangarPodLabels } } }],
          ports: [{ protocol: 'TCP', port: k.runnerPort }],
        },
      ],
      egress: [
        {
          to: [{ namespaceSelector: {}, podSelector: { matchLabels: { 'k8s-app': 'kube-dns' } } }],
          ports: [
            { protocol: 'UDP', port: 53 },
            { protocol: 'TCP', port: 53 },
          ],
        },
        {
          to: [{ ipBlock: { cidr: '0.0.0.0/0', except: [...k.denyCidrs].filter((c) => !c.includes(':')) } }],
        },
        { to: [{ ipBlock: { cidr: '::/0', except: [...k.denyCidrs].filter((c) => c.includes(':')) } }] },
      ],
    },
  };
}
