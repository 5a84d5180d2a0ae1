import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { cidrContains, parseCidr, parseIp } from '../../net/ip.js';
import { json, manifest, request, revision, testBed } from '../../runners/supervisor.test-helper.js';
import { createSecretKeyring } from '../../secrets/keyring.js';
import { createSecretService } from '../../secrets/secret-service.js';
import { MemorySecretStore } from '../../store/memory/secrets.js';
import { type KubeBed, kubeBed, NAMESPACE } from './driver.test-helper.js';
import type { KubeObject } from './fake-api-store.test-helper.js';

/*
 * The hostile-tenant checks of the runner sandbox (runners/sandbox/sandbox.int.test.ts), run with the
 * Kubernetes driver on the fake API server, through the runner pool as the server uses it.
 *
 * What this can prove: what the driver ASKS the cluster for (every Pod, Secret and the NetworkPolicy as
 * stored by the API server), and what reaches a runner (its environment, its Secret, its DATA_DIR).
 *
 * What the fake cannot prove: it runs a Pod as a local process of the test's user on the test's
 * machine, so it enforces none of it. It does not show that a real kubelet/runtime applies the
 * security context (non-root uid, read-only root filesystem, dropped capabilities, seccomp), that a
 * runner cannot read the host's files or another Pod's volumes (here it could: same user, same
 * filesystem), that the service account token is really absent (this machine has none either way), or
 * that the CNI enforces the NetworkPolicy (loopback, cluster and metadata addresses are reachable here).
 * Those hold on a cluster only as far as its runtime and CNI honour the spec; docs/kubernetes.md says so.
 */

/** The hostile app: answers with its whole environment and what it could read of other tenants. */
const PROBE_APP = `
import http from 'node:http';
import fs from 'node:fs';
const probe = (p) => { try { fs.statSync(p).isDirectory() ? fs.readdirSync(p) : fs.readFileSync(p); return 'readable'; } catch (e) { return e.code; } };
http.createServer((q, s) => {
  if (q.url === '/health') return s.end('ok');
  let body = '';
  q.on('data', (c) => (body += c));
  q.on('end', () => {
    const { mark = null } = body ? JSON.parse(body) : {};
    if (mark) fs.writeFileSync(process.env.DATA_DIR + '/' + mark, mark);
    s.setHeader('content-type', 'application/json');
    s.end(JSON.stringify({
      env: process.env,
      data: fs.readdirSync(process.env.DATA_DIR),
      serviceAccount: probe('/var/run/secrets/kubernetes.io/serviceaccount/token'),
      secretsDir: probe('/var/run/secrets/kubernetes.io'),
    }));
  });
}).listen(Number(process.env.PORT), '127.0.0.1');
process.on('SIGTERM', () => process.exit(0));
`;

const ALL = { matches: () => true } as never;
const ALICE_SECRET = 'alice-hub-token-5f1c';
const RIVAL_SECRET = 'rival-db-password-9e2a';
const SERVER_SECRETS_KEY = 'server-secrets-key-never-in-a-pod';
const SERVER_ADMIN_KEY = 'server-admin-key-never-in-a-pod';
/** Variables a runner Pod may carry besides its manifest env and its own secrets. */
const RUNNER_VARS = [
  'PATH',
  'PORT',
  'DATA_DIR',
  'HOME',
  'PYTHONUNBUFFERED',
  'HANGAR_APP',
  'HANGAR_RUNNER_ID',
];

interface Probe {
  env: Record<string, string>;
  data: string[];
  serviceAccount: string;
  secretsDir: string;
}

describe('hostile tenants on Kubernetes (fake API server): what the driver asks for and what reaches a Pod', () => {
  const cleanups: Array<() => Promise<void> | void> = [];
  let bed: KubeBed;
  let h: ReturnType<typeof testBed>;
  let serverHome: string;
  const pods = new Map<string, KubeObject>();
  const seen: Record<string, Probe> = {};

  const ask = async (owner: string, body: unknown): Promise<Probe> => {
    const res = await h.sup.dispatch(request('probe', body, { owner, endpointId: `${owner}/probe` }));
    expect(res.statusCode).toBe(200);
    return json(res.body) as unknown as Probe;
  };

  beforeAll(async () => {
    serverHome = mkdtempSync(join(tmpdir(), 'hangar-k8s-hostile-home-'));
    writeFileSync(join(serverHome, 'admin.key'), SERVER_ADMIN_KEY);
    cleanups.push(() => rmSync(serverHome, { recursive: true, force: true }));
    // The server process holds keys a runner must never see.
    process.env['HANGAR_SECRETS_KEY'] = SERVER_SECRETS_KEY;
    process.env['HANGAR_TEST_ADMIN_KEY'] = SERVER_ADMIN_KEY;
    cleanups.push(() => {
      delete process.env['HANGAR_SECRETS_KEY'];
      delete process.env['HANGAR_TEST_ADMIN_KEY'];
    });
    const dir = mkdtempSync(join(tmpdir(), 'hangar-k8s-probe-'));
    writeFileSync(join(dir, 'app.mjs'), PROBE_APP);
    cleanups.push(() => rmSync(dir, { recursive: true, force: true }));
    bed = await kubeBed(dir, cleanups);
    const secrets = createSecretService({
      store: new MemorySecretStore(),
      keyring: createSecretKeyring({
        key: null,
        previousKey: null,
        keyPath: join(serverHome, 'secrets.key'),
      }),
      clock: Date.now,
    });
    await secrets.set('alice', 'HUB_TOKEN', ALICE_SECRET);
    await secrets.set('rival', 'DB_PASSWORD', RIVAL_SECRET);
    h = testBed(cleanups, { driver: bed.driver(), secrets, nodeId: 'node-a' });
    for (const owner of ['alice', 'rival']) {
      const { app, rev } = revision(dir, manifest({ name: 'probe', env: { MODEL: 'tiny' } }), owner);
      rev.bundle = bed.bundle.digest;
      await h.sup.deploy(app, rev);
    }
    seen['rival'] = await ask('rival', { mark: 'rival-weights.bin' });
    seen['alice'] = await ask('alice', { mark: 'alice-notes.txt' });
    for (const pod of bed.fake.store.list('pods', NAMESPACE, ALL)) pods.set(pod['metadata']['name'], pod);
  }, 60_000);

  afterAll(async () => {
    for (const c of cleanups.splice(0).reverse()) await c();
  });

  const podsOf = (owner: string) =>
    [...pods.values()].filter((p) => p['metadata']['labels']['hangar.dev/owner'] === owner);

  it('runs one Pod per owner', () => {
    expect(podsOf('alice')).toHaveLength(1);
    expect(podsOf('rival')).toHaveLength(1);
  });

  it('asks for no host access, no privileges and no service account token', () => {
    for (const pod of pods.values()) {
      const spec = pod['spec'];
      expect(spec['automountServiceAccountToken']).toBe(false);
      expect(spec['serviceAccountName']).toBeUndefined();
      expect(spec['enableServiceLinks']).toBe(false);
      for (const host of ['hostNetwork', 'hostPID', 'hostIPC', 'shareProcessNamespace'])
        expect(spec[host], host).toBeFalsy();
      expect(spec['securityContext']).toMatchObject({ runAsNonRoot: true });
      expect(spec['securityContext']['runAsUser']).toBeGreaterThan(0);
      // Every volume is the runner's own scratch space: no hostPath, PVC, projected token or Secret volume.
      for (const v of spec['volumes']) expect(Object.keys(v).sort(), v['name']).toEqual(['emptyDir', 'name']);
      for (const c of [...(spec['initContainers'] ?? []), ...spec['containers']]) {
        expect(c['securityContext'], c['name']).toEqual({
          allowPrivilegeEscalation: false,
          readOnlyRootFilesystem: true,
          runAsNonRoot: true,
          capabilities: { drop: ['ALL'] },
        });
        expect(c['envFrom']).toBeUndefined();
        for (const m of c['volumeMounts']) expect(m['mountPath']).not.toMatch(/^\/var\/run\/secrets/);
      }
      const runner = spec['containers'].find((c: KubeObject) => c['name'] === 'runner');
      const dataDir = runner['env'].find((e: KubeObject) => e['name'] === 'DATA_DIR')?.['value'];
      const mount = runner['volumeMounts'].find((m: KubeObject) => m['mountPath'] === dataDir);
      expect(spec['volumes'].find((v: KubeObject) => v['name'] === mount['name'])).toHaveProperty('emptyDir');
    }
  });

  it("puts only the Pod owner's secrets in its Secret, never in the Pod spec, and no server key anywhere", () => {
    const secrets = bed.fake.store.list('secrets', NAMESPACE, ALL);
    expect(secrets).toHaveLength(2);
    for (const s of secrets) {
      const owner = s['metadata']['labels']['hangar.dev/owner'];
      const data = Object.fromEntries(
        Object.entries(s['data'] as Record<string, string>).map(([k, v]) => [
          k,
          Buffer.from(v, 'base64').toString('utf8'),
        ]),
      );
      const own = owner === 'alice' ? { HUB_TOKEN: ALICE_SECRET } : { DB_PASSWORD: RIVAL_SECRET };
      expect(Object.keys(data).sort()).toEqual([...Object.keys(own), 'HANGAR_BUNDLE_URL'].sort());
      expect(data).toMatchObject(own);
    }
    const everything = JSON.stringify([...pods.values(), secrets]);
    for (const leak of [SERVER_SECRETS_KEY, SERVER_ADMIN_KEY, serverHome, h.dataRoot])
      expect(everything).not.toContain(leak);
    for (const pod of pods.values()) {
      const text = JSON.stringify(pod);
      expect(text).not.toContain(ALICE_SECRET);
      expect(text).not.toContain(RIVAL_SECRET);
      for (const c of pod['spec']['containers'])
        for (const e of c['env'])
          expect(e['name'] === 'HANGAR_SECRETS_KEY' || /ADMIN/.test(e['name']), e['name']).toBe(false);
    }
  });

  it('denies egress to the cluster, loopback-adjacent private ranges and cloud metadata', () => {
    const policy = bed.fake.store.get('networkpolicies', NAMESPACE, 'hangar-runners') as KubeObject;
    expect(policy['spec']['podSelector']['matchLabels']).toMatchObject({
      'app.kubernetes.io/component': 'runner',
    });
    expect(policy['spec']['policyTypes']).toEqual(['Ingress', 'Egress']);
    // Ingress: only Hangar's own Pods, only on the runner port.
    expect(policy['spec']['ingress']).toHaveLength(1);
    expect(policy['spec']['ingress'][0]['from'][0]['podSelector']['matchLabels']).toEqual(
      bed.settings.hangarPodLabels,
    );
    // Egress: an address is allowed only if some ipBlock holds it outside its `except`s.
    const blocks = policy['spec']['egress']
      .flatMap((r: KubeObject) => r['to'])
      .filter((t: KubeObject) => t['ipBlock'])
      .map((t: KubeObject) => t['ipBlock']);
    const allowed = (address: string) => {
      const ip = parseIp(address);
      if (!ip) throw new Error(address);
      const inside = (c: string) => {
        const cidr = parseCidr(c);
        return cidr !== null && cidr.family === ip.family && cidrContains(cidr, ip);
      };
      return blocks.some((b: KubeObject) => inside(b['cidr']) && !(b['except'] ?? []).some(inside));
    };
    for (const denied of [
      '169.254.169.254', // cloud metadata (AWS, GCP, Azure)
      'fd00:ec2::254', // AWS metadata over IPv6
      'fe80::1',
      '10.96.0.1', // a typical kubernetes Service address
      '10.244.1.7', // a typical Pod address (Hangar's own)
      '172.17.0.1',
      '192.168.1.10', // a node on a private network
      '100.100.100.200', // Alibaba metadata (CGNAT range)
    ])
      expect(allowed(denied), denied).toBe(false);
    expect(allowed('1.1.1.1')).toBe(true);
  });

  it('shows a runner only its own environment, secrets and DATA_DIR, and no service account token', () => {
    for (const [owner, other] of [
      ['alice', 'rival'],
      ['rival', 'alice'],
    ] as const) {
      const probe = seen[owner] as Probe;
      const ownSecret = owner === 'alice' ? 'HUB_TOKEN' : 'DB_PASSWORD';
      expect(Object.keys(probe.env).sort()).toEqual([...RUNNER_VARS, 'MODEL', ownSecret].sort());
      expect(probe.env['HANGAR_APP']).toBe(`${owner}/probe`);
      const text = JSON.stringify(probe);
      expect(text).not.toContain(owner === 'alice' ? RIVAL_SECRET : ALICE_SECRET);
      for (const leak of [SERVER_SECRETS_KEY, SERVER_ADMIN_KEY, serverHome, h.dataRoot, `${other}/probe`])
        expect(text).not.toContain(leak);
      // DATA_DIR is the Pod's own emptyDir: the other owner's file written there is not in it.
      expect(probe.data).toEqual([owner === 'alice' ? 'alice-notes.txt' : 'rival-weights.bin']);
      // Meaningful only where the host has no token of its own (a real Pod: automountServiceAccountToken).
      if (!existsSync('/var/run/secrets/kubernetes.io')) {
        expect(probe.serviceAccount).toBe('ENOENT');
        expect(probe.secretsDir).toBe('ENOENT');
      }
    }
  });
});
