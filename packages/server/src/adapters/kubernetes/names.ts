import { createHash } from 'node:crypto';
import type { RunnerLabels } from '@hangar/core';

/** Label and annotation keys Hangar puts on every runner Pod and Secret. */
export const LABEL = {
  managedBy: 'app.kubernetes.io/managed-by',
  component: 'app.kubernetes.io/component',
  owner: 'hangar.dev/owner',
  app: 'hangar.dev/app',
  revision: 'hangar.dev/revision',
  runner: 'hangar.dev/runner',
  node: 'hangar.dev/node',
} as const;

const FIELDS: Array<[keyof RunnerLabels, string]> = [
  ['owner', LABEL.owner],
  ['app', LABEL.app],
  ['revisionId', LABEL.revision],
  ['runnerId', LABEL.runner],
  ['node', LABEL.node],
];

const LABEL_VALUE = /^([A-Za-z0-9]([-A-Za-z0-9_.]{0,61}[A-Za-z0-9])?)?$/;

const hash8 = (s: string) => createHash('sha256').update(s).digest('hex').slice(0, 8);

/**
 * A label value for any text: the text itself when it is valid label syntax, else a readable cut of it
 * plus a hash of the original, so two different texts never share a label value.
 */
export function labelValue(text: string): string {
  if (LABEL_VALUE.test(text)) return text;
  const cut = text
    .replace(/[^-A-Za-z0-9_.]/g, '-')
    .slice(0, 50)
    .replace(/^[^A-Za-z0-9]+|[^A-Za-z0-9]+$/g, '');
  return cut ? `${cut}-${hash8(text)}` : hash8(text);
}

/** A DNS-1123 name for a runner's Pod (its Secret adds `-env`). */
export function podName(runnerId: string): string {
  const base = runnerId.toLowerCase().replace(/[^a-z0-9-]/g, '-');
  const name = `hangar-${base}`.slice(0, 50).replace(/-+$/, '');
  return name === `hangar-${runnerId}` ? name : `${name}-${hash8(runnerId)}`;
}

export function secretName(pod: string): string {
  return `${pod}-env`;
}

/** Labels of a runner's objects: sanitised values to select by; the originals go in annotations. */
export function runnerLabels(l: RunnerLabels): Record<string, string> {
  const out: Record<string, string> = { [LABEL.managedBy]: 'hangar', [LABEL.component]: 'runner' };
  for (const [field, key] of FIELDS) out[key] = labelValue(l[field]);
  return out;
}

export function runnerAnnotations(l: RunnerLabels): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [field, key] of FIELDS) out[key] = l[field];
  return out;
}

/** The label selector of every runner a Hangar node started. */
export function nodeSelector(node: string): string {
  return `${LABEL.managedBy}=hangar,${LABEL.node}=${labelValue(node)}`;
}

/** RunnerLabels back from an object's annotations, or null when they are not Hangar's. */
export function labelsFromAnnotations(annotations: Record<string, string> | undefined): RunnerLabels | null {
  const a = annotations ?? {};
  const out: Partial<RunnerLabels> = {};
  for (const [field, key] of FIELDS) {
    const v = a[key];
    if (v === undefined) return null;
    out[field] = v;
  }
  return out as RunnerLabels;
}
