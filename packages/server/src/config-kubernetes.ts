// The `kubernetes` section of hangar.config.json (the Kubernetes runner driver), kept apart from
// config-file.ts so that file stays about the whole file. No environment here.
import { type Static, Type } from 'typebox';

const strict = { additionalProperties: false } as const;
const int = (minimum: number) => Type.Optional(Type.Integer({ minimum }));

/** Schema of `kubernetes` in hangar.config.json. */
export const KubernetesConfigSchema = Type.Object(
  {
    namespace: Type.Optional(Type.String({ pattern: '^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?$' })),
    kubeconfig: Type.Optional(Type.String({ minLength: 1 })),
    context: Type.Optional(Type.String({ minLength: 1 })),
    base_image: Type.Optional(Type.String({ minLength: 1 })),
    pending_timeout_s: int(0),
    runner_port: Type.Optional(Type.Integer({ minimum: 1, maximum: 65535 })),
    run_as_user: Type.Optional(Type.Integer({ minimum: 1 })),
    service_account: Type.Optional(Type.String({ minLength: 1 })),
    image_pull_secrets: Type.Optional(Type.Array(Type.String({ minLength: 1 }))),
    default_cpu: Type.Optional(Type.Number({ exclusiveMinimum: 0 })),
    default_memory_mb: int(16),
    tmp_mb: int(1),
    bundle_url_ttl_s: int(60),
    deny_cidrs: Type.Optional(Type.Array(Type.String({ pattern: '^[0-9a-fA-F.:]+/\\d{1,3}$' }))),
    hangar_pod_labels: Type.Optional(Type.Record(Type.String(), Type.String())),
  },
  strict,
);

export type KubernetesConfigFile = Static<typeof KubernetesConfigSchema>;

/** Settings of the Kubernetes runner driver (see docs/config.md, "Kubernetes runners"). */
export interface KubernetesSettings {
  readonly namespace: string;
  /** A kubeconfig file, or `in-cluster` for the Pod's service account. */
  readonly kubeconfig: string;
  readonly context: string | null;
  readonly baseImage: string;
  readonly pendingTimeoutS: number;
  readonly runnerPort: number;
  readonly runAsUser: number;
  readonly serviceAccount: string | null;
  readonly imagePullSecrets: readonly string[];
  readonly defaultCpu: number;
  readonly defaultMemoryMb: number;
  readonly tmpMb: number;
  readonly bundleUrlTtlS: number;
  readonly denyCidrs: readonly string[];
  readonly hangarPodLabels: Readonly<Record<string, string>>;
}

/** Private, shared, link-local (cloud metadata) and carrier-grade NAT ranges: a cluster's internal addresses. */
export const DEFAULT_DENY_CIDRS = [
  '10.0.0.0/8',
  '172.16.0.0/12',
  '192.168.0.0/16',
  '169.254.0.0/16',
  '100.64.0.0/10',
  // IPv6 unique-local (AWS metadata fd00:ec2::254, cluster ranges) and link-local.
  'fc00::/7',
  'fe80::/10',
];

export function kubernetesSettings(k: KubernetesConfigFile = {}): KubernetesSettings {
  return {
    namespace: k.namespace ?? 'hangar-runners',
    kubeconfig: k.kubeconfig ?? 'in-cluster',
    context: k.context ?? null,
    baseImage: k.base_image ?? 'hangar-runner-base:latest',
    pendingTimeoutS: k.pending_timeout_s ?? 900,
    runnerPort: k.runner_port ?? 8080,
    runAsUser: k.run_as_user ?? 10001,
    serviceAccount: k.service_account ?? null,
    imagePullSecrets: [...(k.image_pull_secrets ?? [])],
    defaultCpu: k.default_cpu ?? 1,
    defaultMemoryMb: k.default_memory_mb ?? 2048,
    tmpMb: k.tmp_mb ?? 1024,
    bundleUrlTtlS: k.bundle_url_ttl_s ?? 900,
    denyCidrs: [...(k.deny_cidrs ?? DEFAULT_DENY_CIDRS)],
    hangarPodLabels: { ...(k.hangar_pod_labels ?? { 'app.kubernetes.io/name': 'hangar' }) },
  };
}
