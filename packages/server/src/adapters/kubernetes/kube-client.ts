import type { Writable } from 'node:stream';
import {
  ApiException,
  CoreV1Api,
  type KubeConfig,
  Log,
  NetworkingV1Api,
  type V1NetworkPolicy,
  type V1Pod,
  type V1Secret,
  Watch,
} from '@kubernetes/client-node';

/** Every API call the driver makes, as `verb resource` (what deploy/kubernetes/rbac.yaml grants). */
export const DRIVER_CALLS: readonly string[] = [
  'create pods',
  'get pods',
  'list pods',
  'watch pods',
  'delete pods',
  'get pods/log',
  'create secrets',
  'delete secrets',
  'create networkpolicies',
];

/** A watch event of one Pod, or the end of the watch (`err` null when the server closed it). */
export type PodEvent = { type: 'ADDED' | 'MODIFIED' | 'DELETED'; pod: V1Pod } | { type: 'EXPIRED' };

/**
 * The few API calls the driver makes (and that deploy/kubernetes/rbac.yaml grants): pods create, get,
 * list, watch, delete; pods/log get; secrets create, delete; networkpolicies create.
 */
export class KubeClient {
  private readonly core: CoreV1Api;
  private readonly net: NetworkingV1Api;

  constructor(
    private readonly kc: KubeConfig,
    readonly namespace: string,
  ) {
    this.core = kc.makeApiClient(CoreV1Api);
    this.net = kc.makeApiClient(NetworkingV1Api);
  }

  createPod(pod: V1Pod): Promise<V1Pod> {
    return this.core.createNamespacedPod({ namespace: this.namespace, body: pod });
  }

  /** The Pod, or null when it does not exist. */
  readPod(name: string): Promise<V1Pod | null> {
    return orNull(this.core.readNamespacedPod({ namespace: this.namespace, name }));
  }

  listPods(labelSelector: string): Promise<V1Pod[]> {
    return this.core.listNamespacedPod({ namespace: this.namespace, labelSelector }).then((l) => l.items);
  }

  /** Deletes a Pod with a grace period (0: at once); a Pod already gone is not an error. */
  async deletePod(name: string, graceS: number): Promise<void> {
    await orNull(
      this.core.deleteNamespacedPod({ namespace: this.namespace, name, gracePeriodSeconds: graceS }),
    );
  }

  createSecret(secret: V1Secret): Promise<V1Secret> {
    return this.core.createNamespacedSecret({ namespace: this.namespace, body: secret });
  }

  async deleteSecret(name: string): Promise<void> {
    await orNull(this.core.deleteNamespacedSecret({ namespace: this.namespace, name }));
  }

  /** Creates the NetworkPolicy unless one of that name exists (an operator's own version wins). */
  async ensureNetworkPolicy(policy: V1NetworkPolicy): Promise<void> {
    try {
      await this.net.createNamespacedNetworkPolicy({ namespace: this.namespace, body: policy });
    } catch (err) {
      if (!(err instanceof ApiException && err.code === 409)) throw err;
    }
  }

  /**
   * Watches the Pods matching `labelSelector` from `resourceVersion`. `onEvent` gets each event in order;
   * `EXPIRED` means the version is too old (410) and the caller must read again. `onEnd` runs once when
   * the watch ends for any reason. Returns a function that stops it.
   */
  watchPods(
    labelSelector: string,
    resourceVersion: string,
    onEvent: (e: PodEvent) => void,
    onEnd: (err: unknown) => void,
  ): () => void {
    let controller: AbortController | null = null;
    let stopped = false;
    void new Watch(this.kc)
      .watch(
        `/api/v1/namespaces/${this.namespace}/pods`,
        { labelSelector, resourceVersion, allowWatchBookmarks: false },
        (type: string, obj: V1Pod & { code?: number }) => {
          if (type === 'ERROR') onEvent({ type: 'EXPIRED' });
          else if (type === 'ADDED' || type === 'MODIFIED' || type === 'DELETED') onEvent({ type, pod: obj });
        },
        (err: unknown) => {
          if (!stopped) onEnd(err);
        },
      )
      .then((c) => {
        controller = c;
        if (stopped) c.abort();
      });
    return () => {
      stopped = true;
      controller?.abort();
    };
  }

  /** Follows a container's log with timestamps, from `sinceTime` when given, into `out`. */
  followLog(
    pod: string,
    container: string,
    sinceTime: string | null,
    out: Writable,
  ): Promise<AbortController> {
    return new Log(this.kc).log(this.namespace, pod, container, out, {
      follow: true,
      timestamps: true,
      ...(sinceTime ? { sinceTime } : {}),
    });
  }
}

/** Is this a watch that ended on 410 Gone (the HTTP form of an expired resourceVersion)? */
export function isGone(err: unknown): boolean {
  return typeof err === 'object' && err !== null && (err as { statusCode?: number }).statusCode === 410;
}

async function orNull<T>(p: Promise<T>): Promise<T | null> {
  try {
    return await p;
  } catch (err) {
    if (err instanceof ApiException && err.code === 404) return null;
    throw err;
  }
}
