import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { KubeConfig, type V1Pod } from '@kubernetes/client-node';
import {
  FakeObjectStore,
  type KubeObject,
  LabelSelector,
  StatusError,
  statusObject,
} from './fake-api-store.test-helper.js';
import { FAKE_PORTS_ANNOTATION, FakeKubelet } from './fake-kubelet.test-helper.js';
import type { FakeImage } from './fake-pod-spec.test-helper.js';

/**
 * A FAKE Kubernetes API server for tests: an in-process HTTP server on 127.0.0.1 that follows the real
 * REST API where Hangar's Kubernetes driver depends on it, and "runs" each Pod by starting its container's
 * command as a local process group on one fake node.
 *
 * Modelled: namespaced Pods, Secrets and NetworkPolicies (create 201 / 409 AlreadyExists, get 404
 * NotFound Status, list with an equality-based labelSelector and the list's resourceVersion, delete with
 * gracePeriodSeconds); watches (`watch=1|true&resourceVersion=N`, newline-delimited ADDED/MODIFIED/DELETED
 * in resourceVersion order, an ERROR event with a 410 Expired Status once N fell out of a bounded
 * history); Pod phases, conditions and container states (waiting ContainerCreating / ErrImagePull /
 * CreateContainerConfigError, running, terminated incl. OOMKilled), readiness from an httpGet
 * readinessProbe, logs (`follow`, `timestamps`, `sinceTime` at second precision, `tailLines`), Secrets
 * in `envFrom`/`secretKeyRef`, one node with a `nvidia.com/gpu` capacity and labels.
 *
 * Differs from a real cluster: every Pod shares 127.0.0.1 as its podIP, so each declared containerPort
 * gets a free local port, recorded in the Pod annotation `fake.hangar.test/ports` and given to the
 * process as `PORT` (the driver's one test seam maps podIP:containerPort through it). Not modelled:
 * scheduling beyond one node's GPUs and labels (no taints, affinity, preemption, priorities), images
 * (an image is a name in a table; its filesystem is the host's), mounts (path rewriting only, see
 * `mountMap`), networking (no isolation, NetworkPolicy objects are stored but not enforced), the
 * securityContext (processes run as the test's user), resource limits (no cgroups; OOM kills only
 * through the `oomKill` knob), kubelet restarts and restartPolicy other than Never, liveness/startup
 * probes, RBAC, authentication and admission, ownerReferences garbage collection, finalizers,
 * UPDATE/PATCH, field selectors, set-based label selectors, bookmarks, Namespace objects, events.
 */
export interface FakeKubeApi {
  url: string;
  store: FakeObjectStore;
  kubelet: FakeKubelet;
  /** Every API call as `verb resource` (`create pods`, `get pods/log`, …), for RBAC checks. */
  calls: Set<string>;
  /** A client config for the real client pointing at the fake. */
  kubeConfig(): KubeConfig;
  /** Ends every open watch connection, as an API server does at its watch timeout. */
  dropWatches(): void;
  close(): Promise<void>;
}

export interface FakeKubeApiOptions {
  gpuCapacity?: number;
  nodeLabels?: Record<string, string>;
  images?: Record<string, FakeImage>;
  /** Watch events kept for `resourceVersion` resumes; older starts get 410. */
  historyLimit?: number;
  probeIntervalMs?: number;
}

const RESOURCES: Record<string, { group: string; kind: string }> = {
  pods: { group: 'api/v1', kind: 'Pod' },
  secrets: { group: 'api/v1', kind: 'Secret' },
  networkpolicies: { group: 'apis/networking.k8s.io/v1', kind: 'NetworkPolicy' },
};

const PATH_RE =
  /^\/(api\/v1|apis\/networking\.k8s\.io\/v1)\/namespaces\/([^/]+)\/([a-z]+)(?:\/([^/]+))?(?:\/(log))?$/;

/** Starts the fake on a free 127.0.0.1 port. */
export async function startFakeKubeApi(opts: FakeKubeApiOptions = {}): Promise<FakeKubeApi> {
  const store = new FakeObjectStore(opts.historyLimit ?? 1000);
  const kubelet = new FakeKubelet(store, {
    gpuCapacity: opts.gpuCapacity ?? 0,
    nodeLabels: { 'kubernetes.io/hostname': 'fake-node', ...opts.nodeLabels },
    images: opts.images ?? {},
    probeIntervalMs: opts.probeIntervalMs ?? 50,
  });
  const calls = new Set<string>();
  const watches = new Set<ServerResponse>();
  const server = createServer((req, res) => {
    void handle(req, res).catch((err: unknown) => {
      const status =
        err instanceof StatusError ? err.status : statusObject(500, 'InternalError', String(err));
      if (!res.headersSent) res.writeHead(status['code'], { 'content-type': 'application/json' });
      res.end(JSON.stringify(status));
    });
  });

  async function handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const url = new URL(req.url ?? '/', 'http://fake');
    const m = PATH_RE.exec(url.pathname);
    const def = m ? RESOURCES[m[3] as string] : undefined;
    if (!m || !def || def.group !== m[1]) {
      throw new StatusError(
        statusObject(404, 'NotFound', 'the server could not find the requested resource'),
      );
    }
    const [, , ns, resource, name, sub] = m as unknown as [string, string, string, string, string?, string?];
    const q = url.searchParams;
    const watch = q.get('watch') === '1' || q.get('watch') === 'true';
    const verb = verbOf(req.method ?? 'GET', name, watch);
    calls.add(`${verb} ${resource}${sub ? `/${sub}` : ''}`);
    if (sub === 'log') return serveLog(ns, name as string, q, res);
    if (verb === 'create') return send(res, 201, create(resource, ns, JSON.parse(await body(req)), def.kind));
    if (verb === 'get') return send(res, 200, typed(store.read(resource, ns, name as string), resource));
    if (verb === 'delete') return send(res, 200, remove(resource, ns, name as string, q, await body(req)));
    const selector = new LabelSelector(q.get('labelSelector'));
    if (verb === 'watch') return serveWatch(resource, ns, selector, q, res);
    send(res, 200, {
      kind: `${def.kind}List`,
      apiVersion: def.group.replace(/^apis?\//, ''),
      metadata: { resourceVersion: String(store.resourceVersion) },
      items: store.list(resource, ns, selector),
    });
  }

  function typed(obj: KubeObject, resource: string): KubeObject {
    const def = RESOURCES[resource] as { group: string; kind: string };
    return { kind: def.kind, apiVersion: def.group.replace(/^apis?\//, ''), ...obj };
  }

  function create(resource: string, ns: string, obj: KubeObject, kind: string): KubeObject {
    if (obj['kind'] !== undefined && obj['kind'] !== kind)
      throw new StatusError(statusObject(400, 'BadRequest', `kind must be ${kind}`));
    if (resource === 'secrets' && obj['stringData']) {
      obj['data'] = { ...obj['data'] };
      for (const [k, v] of Object.entries(obj['stringData']))
        obj['data'][k] = Buffer.from(String(v)).toString('base64');
      delete obj['stringData'];
    }
    if (resource === 'pods') obj['status'] = { phase: 'Pending' };
    const created = store.create(resource, ns, obj);
    if (resource === 'pods') kubelet.admit(ns, created['metadata']['name']);
    return typed(created, resource);
  }

  function remove(resource: string, ns: string, name: string, q: URLSearchParams, raw: string): KubeObject {
    const opts = raw ? (JSON.parse(raw) as KubeObject) : {};
    const graceText = q.get('gracePeriodSeconds') ?? opts['gracePeriodSeconds'];
    if (resource !== 'pods') {
      store.remove(resource, ns, name);
      return statusObject(200, '', '', { name, kind: resource });
    }
    const pod = store.read(resource, ns, name);
    const grace =
      graceText !== undefined && graceText !== null
        ? Number(graceText)
        : (pod['spec']['terminationGracePeriodSeconds'] ?? 30);
    return typed(kubelet.delete(ns, name, grace), resource);
  }

  function serveWatch(
    resource: string,
    ns: string,
    selector: LabelSelector,
    q: URLSearchParams,
    res: ServerResponse,
  ): void {
    const rvText = q.get('resourceVersion');
    const fromRv = rvText && rvText !== '0' ? Number(rvText) : null;
    res.writeHead(200, { 'content-type': 'application/json', 'transfer-encoding': 'chunked' });
    res.flushHeaders();
    const w = {
      resource,
      namespace: ns,
      selector,
      send: (type: string, object: KubeObject) =>
        res.write(
          `${JSON.stringify({ type, object: type === 'ERROR' ? object : typed(object, resource) })}\n`,
        ),
    };
    if (!store.watch(w, fromRv)) return void res.end();
    watches.add(res);
    const timeout = Number(q.get('timeoutSeconds') ?? 0);
    const timer = timeout > 0 ? setTimeout(() => res.end(), timeout * 1000) : null;
    res.on('close', () => {
      store.watchers.delete(w);
      watches.delete(res);
      if (timer) clearTimeout(timer);
    });
  }

  function serveLog(ns: string, name: string, q: URLSearchParams, res: ServerResponse): void {
    const pod = store.read('pods', ns, name);
    const container = q.get('container') ?? pod['spec']['containers'][0]['name'];
    const log = kubelet.running(ns, name)?.logs.get(container);
    if (!log) {
      const why =
        pod['status']?.['containerStatuses']?.[0]?.['state']?.['waiting']?.['reason'] ?? 'PodInitializing';
      throw new StatusError(
        statusObject(
          400,
          'BadRequest',
          `container "${container}" in pod "${name}" is waiting to start: ${why}`,
        ),
      );
    }
    const num = (k: string) => (q.get(k) ? Number(q.get(k)) : null);
    log.serve(res, {
      follow: q.get('follow') === 'true',
      timestamps: q.get('timestamps') === 'true',
      sinceTime: q.get('sinceTime'),
      sinceSeconds: num('sinceSeconds'),
      tailLines: num('tailLines'),
    });
  }

  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  return {
    url,
    store,
    kubelet,
    calls,
    kubeConfig: () => fakeKubeConfig(url),
    dropWatches: () => {
      for (const w of watches) w.destroy();
    },
    async close() {
      kubelet.closeAll();
      for (const w of watches) w.destroy();
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}

/** A client config that reaches the fake over plain HTTP. */
export function fakeKubeConfig(url: string): KubeConfig {
  const kc = new KubeConfig();
  kc.loadFromOptions({
    clusters: [{ name: 'fake', server: url, skipTLSVerify: true }],
    users: [{ name: 'fake', token: 'fake-token' }],
    contexts: [{ name: 'fake', cluster: 'fake', user: 'fake', namespace: 'hangar' }],
    currentContext: 'fake',
  });
  return kc;
}

function verbOf(method: string, name: string | undefined, watch: boolean): string {
  if (method === 'POST') return 'create';
  if (method === 'DELETE') return 'delete';
  if (name) return 'get';
  return watch ? 'watch' : 'list';
}

function send(res: ServerResponse, code: number, obj: KubeObject): void {
  res.writeHead(code, { 'content-type': 'application/json' });
  res.end(JSON.stringify(obj));
}

function body(req: IncomingMessage): Promise<string> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => resolve(Buffer.concat(chunks).toString('utf8')));
    req.on('error', reject);
  });
}

/**
 * The driver's address seam for the fake: `127.0.0.1` and the local port the fake gave the runner port
 * (a real cluster's address is `podIP:runner_port`).
 */
export function fakePodAddress(pod: V1Pod, runnerPort: number): string {
  const ports = JSON.parse(pod.metadata?.annotations?.[FAKE_PORTS_ANNOTATION] ?? '{}') as Record<
    string,
    number
  >;
  return `${pod.status?.podIP}:${ports[String(runnerPort)]}`;
}
