import { readdirSync, readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { loadAllYaml } from '@kubernetes/client-node';
import { describe, expect, it } from 'vitest';
import { kubernetesSettings } from '../../config-kubernetes.js';
import { DRIVER_CALLS } from './kube-client.js';
import { runnerNetworkPolicy } from './pod-manifest.js';

const dir = fileURLToPath(new URL('../../../../../deploy/kubernetes/', import.meta.url));
// biome-ignore lint/suspicious/noExplicitAny: manifests are free-form YAML
const docs = (): any[] =>
  readdirSync(dir)
    .filter((f) => f.endsWith('.yaml'))
    .flatMap((f) => loadAllYaml(readFileSync(`${dir}${f}`, 'utf8')));

describe('deploy/kubernetes manifests', () => {
  it('parse, and every object has a kind, an apiVersion and a name', () => {
    const all = docs();
    expect(all.map((d) => d.kind).sort()).toEqual(
      [
        'ConfigMap',
        'Deployment',
        'Namespace',
        'Namespace',
        'NetworkPolicy',
        'PersistentVolumeClaim',
        'Role',
        'RoleBinding',
        'Service',
        'ServiceAccount',
      ].sort(),
    );
    for (const d of all) expect(d.apiVersion && d.metadata?.name).toBeTruthy();
  });

  it('grant the driver exactly the calls it makes, and ship the NetworkPolicy the driver creates', () => {
    const role = docs().find((d) => d.kind === 'Role');
    const granted = role.rules.flatMap((r: { resources: string[]; verbs: string[] }) =>
      r.resources.flatMap((res) => r.verbs.map((v) => `${v} ${res}`)),
    );
    // The driver tests check it makes no call outside DRIVER_CALLS.
    expect(granted.sort()).toEqual(DRIVER_CALLS.slice().sort());
    const shipped = docs().find((d) => d.kind === 'NetworkPolicy');
    const made = runnerNetworkPolicy(kubernetesSettings());
    expect(shipped.spec.podSelector).toEqual(made.spec?.podSelector);
    expect(shipped.spec.egress[1].to[0].ipBlock.except).toEqual(
      made.spec?.egress?.[1]?.to?.[0]?.ipBlock?.except,
    );
    expect(shipped.spec.egress[2].to[0].ipBlock).toEqual(made.spec?.egress?.[2]?.to?.[0]?.ipBlock);
  });
});
