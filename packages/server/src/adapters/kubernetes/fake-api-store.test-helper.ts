/**
 * The object store of the fake Kubernetes API server (test support): namespaced objects of a few
 * resources, one cluster-wide resourceVersion counter (as etcd's revision), a bounded history of watch
 * events and the watchers listening to it. Not a model of etcd: no compaction schedule, no UPDATE/PATCH
 * conflicts on resourceVersion, no field selectors, no finalizers and no garbage collection by ownerReferences.
 */

/** A Kubernetes object as JSON. */
// biome-ignore lint/suspicious/noExplicitAny: Kubernetes objects are free-form JSON here
export type KubeObject = Record<string, any>;

export type WatchEventType = 'ADDED' | 'MODIFIED' | 'DELETED';

export interface WatchEvent {
  type: WatchEventType;
  resource: string;
  namespace: string;
  rv: number;
  object: KubeObject;
}

export interface Watcher {
  resource: string;
  namespace: string;
  selector: LabelSelector;
  send(type: WatchEventType | 'ERROR', object: KubeObject): void;
}

/** A Kubernetes `Status` answer, shaped as the real API server writes it. */
export function statusObject(
  code: number,
  reason: string,
  message: string,
  details?: KubeObject,
): KubeObject {
  return {
    kind: 'Status',
    apiVersion: 'v1',
    metadata: {},
    status: code < 400 ? 'Success' : 'Failure',
    message,
    reason,
    ...(details ? { details } : {}),
    code,
  };
}

/** An error the HTTP layer answers with its Status object. */
export class StatusError extends Error {
  constructor(readonly status: KubeObject) {
    super(String(status['message']));
  }
}

type Requirement = { key: string; op: '=' | '!=' | 'exists' | '!exists'; value: string };

/** An equality-based label selector (`a=b,c==d,e!=f,g,!h`); set-based forms (`in`, `notin`) are refused. */
export class LabelSelector {
  private readonly reqs: Requirement[];
  constructor(text: string | null) {
    this.reqs = (text ?? '')
      .split(',')
      .map((s) => s.trim())
      .filter(Boolean)
      .map(parseRequirement);
  }
  matches(labels: Record<string, string> | undefined): boolean {
    const l = labels ?? {};
    return this.reqs.every((r) => {
      const has = Object.hasOwn(l, r.key);
      if (r.op === 'exists') return has;
      if (r.op === '!exists') return !has;
      if (r.op === '=') return has && l[r.key] === r.value;
      return !has || l[r.key] !== r.value;
    });
  }
}

function parseRequirement(part: string): Requirement {
  const m = /^([^!=\s]+)\s*(==|=|!=)\s*([^\s,]*)$/.exec(part);
  if (m) return { key: m[1] as string, op: m[2] === '!=' ? '!=' : '=', value: m[3] as string };
  if (/^![^\s=!]+$/.test(part)) return { key: part.slice(1), op: '!exists', value: '' };
  if (/^[^\s=!()]+$/.test(part)) return { key: part, op: 'exists', value: '' };
  throw new StatusError(statusObject(400, 'BadRequest', `unable to parse requirement: ${part}`));
}

const NAME_RE = /^[a-z0-9]([-a-z0-9.]{0,251}[a-z0-9])?$/;

/** Objects, resourceVersions, history and watchers. */
export class FakeObjectStore {
  private rv = 1;
  private readonly objects = new Map<string, KubeObject>();
  private readonly history: WatchEvent[] = [];
  readonly watchers = new Set<Watcher>();
  private uidSeq = 0;

  constructor(private readonly historyLimit: number) {}

  get resourceVersion(): number {
    return this.rv;
  }

  /** The oldest resourceVersion a watch may still start from. */
  get oldestWatchable(): number {
    return this.history.length === this.historyLimit ? (this.history[0] as WatchEvent).rv - 1 : 0;
  }

  private key(resource: string, namespace: string, name: string): string {
    return `${resource}/${namespace}/${name}`;
  }

  get(resource: string, namespace: string, name: string): KubeObject | undefined {
    return this.objects.get(this.key(resource, namespace, name));
  }

  /** Like `get`, or a 404 Status. */
  read(resource: string, namespace: string, name: string): KubeObject {
    const obj = this.get(resource, namespace, name);
    if (!obj) throw notFound(resource, name);
    return obj;
  }

  list(resource: string, namespace: string, selector: LabelSelector): KubeObject[] {
    const prefix = `${resource}/${namespace}/`;
    return [...this.objects.entries()]
      .filter(([k, o]) => k.startsWith(prefix) && selector.matches(o['metadata']?.['labels']))
      .map(([, o]) => o);
  }

  create(resource: string, namespace: string, obj: KubeObject): KubeObject {
    const name = obj['metadata']?.['name'];
    if (typeof name !== 'string' || !NAME_RE.test(name)) {
      throw new StatusError(
        statusObject(422, 'Invalid', `${resource} "${name}" is invalid: metadata.name: Invalid value`),
      );
    }
    if (this.get(resource, namespace, name)) {
      throw new StatusError(
        statusObject(409, 'AlreadyExists', `${resource} "${name}" already exists`, { name, kind: resource }),
      );
    }
    const stored: KubeObject = structuredClone(obj);
    stored['metadata'] = {
      ...stored['metadata'],
      namespace,
      uid: `fake-uid-${++this.uidSeq}`,
      creationTimestamp: new Date().toISOString().replace(/\.\d+Z$/, 'Z'),
    };
    this.commit('ADDED', resource, namespace, stored);
    return stored;
  }

  /** Applies `change` to a stored object and records a MODIFIED event. */
  modify(resource: string, namespace: string, name: string, change: (o: KubeObject) => void): KubeObject {
    const obj = structuredClone(this.read(resource, namespace, name));
    change(obj);
    this.commit('MODIFIED', resource, namespace, obj);
    return obj;
  }

  remove(resource: string, namespace: string, name: string): KubeObject {
    const obj = structuredClone(this.read(resource, namespace, name));
    this.commit('DELETED', resource, namespace, obj);
    return obj;
  }

  private commit(type: WatchEventType, resource: string, namespace: string, obj: KubeObject): void {
    const rv = ++this.rv;
    obj['metadata']['resourceVersion'] = String(rv);
    const k = this.key(resource, namespace, obj['metadata']['name']);
    if (type === 'DELETED') this.objects.delete(k);
    else this.objects.set(k, obj);
    const event: WatchEvent = { type, resource, namespace, rv, object: structuredClone(obj) };
    this.history.push(event);
    if (this.history.length > this.historyLimit) this.history.shift();
    for (const w of this.watchers) this.deliver(w, event);
  }

  private deliver(w: Watcher, e: WatchEvent): void {
    if (w.resource !== e.resource || w.namespace !== e.namespace) return;
    if (!w.selector.matches(e.object['metadata']?.['labels'])) return;
    w.send(e.type, e.object);
  }

  /**
   * Starts a watcher from `fromRv` (events after it, from history), or with synthetic ADDED events for
   * what exists now when `fromRv` is null; a `fromRv` older than the history gets the real server's
   * ERROR event with a 410 Expired Status. Returns false when the watch ended at once (410).
   */
  watch(w: Watcher, fromRv: number | null): boolean {
    if (fromRv === null) {
      for (const o of this.list(w.resource, w.namespace, w.selector)) w.send('ADDED', o);
    } else if (fromRv < this.oldestWatchable) {
      w.send(
        'ERROR',
        statusObject(410, 'Expired', `too old resource version: ${fromRv} (${this.oldestWatchable + 1})`),
      );
      return false;
    } else {
      for (const e of this.history) if (e.rv > fromRv) this.deliver(w, e);
    }
    this.watchers.add(w);
    return true;
  }
}

export function notFound(resource: string, name: string): StatusError {
  return new StatusError(
    statusObject(404, 'NotFound', `${resource} "${name}" not found`, { name, kind: resource }),
  );
}
