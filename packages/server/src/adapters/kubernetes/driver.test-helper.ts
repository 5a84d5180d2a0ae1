import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { RunnerDriver } from '@hangar/core';
import { type KubernetesSettings, kubernetesSettings } from '../../config-kubernetes.js';
import { createKubernetesRunnerDriver } from './driver.js';
import {
  type FakeKubeApi,
  type FakeKubeApiOptions,
  fakePodAddress,
  startFakeKubeApi,
} from './fake-api-server.test-helper.js';

export const NAMESPACE = 'hangar-runners';
export const BASE_IMAGE = 'hangar-runner-base:test';

/** A local HTTP server handing out one bundle archive (what a signed object-store URL would serve). */
export interface BundleHost {
  digest: string;
  url: string;
  fetches: () => number;
  close(): Promise<void>;
}

/** Packs `dir` as a bundle archive (`tar.gz`) and serves it on 127.0.0.1. */
export async function hostBundle(dir: string): Promise<BundleHost> {
  const tmp = mkdtempSync(join(tmpdir(), 'hangar-k8s-bundle-'));
  const archive = join(tmp, 'bundle.tar.gz');
  execFileSync('tar', ['-czf', archive, '-C', dir, '.']);
  const bytes = readFileSync(archive);
  rmSync(tmp, { recursive: true, force: true });
  let n = 0;
  const server = createServer((_req, res) => {
    n++;
    res.writeHead(200, { 'content-type': 'application/gzip', 'content-length': bytes.length });
    res.end(bytes);
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/bundles/abc.tar.gz?sig=short-lived`;
  return {
    digest: `sha256:${'ab'.repeat(32)}`,
    url,
    fetches: () => n,
    close: () => new Promise((r) => server.close(() => r())),
  };
}

export interface KubeBed {
  fake: FakeKubeApi;
  bundle: BundleHost;
  settings: KubernetesSettings;
  /** A driver talking to the fake (a new one is a restarted server). */
  driver(over?: Partial<KubernetesSettings>): RunnerDriver;
}

/** A fake cluster, a bundle host for `dir`, and drivers against them; `cleanups` undoes it all. */
export async function kubeBed(
  dir: string,
  cleanups: Array<() => Promise<void> | void>,
  fakeOpts: FakeKubeApiOptions = {},
  over: Partial<KubernetesSettings> = {},
): Promise<KubeBed> {
  const fake = await startFakeKubeApi({ ...fakeOpts, images: { [BASE_IMAGE]: {}, ...fakeOpts.images } });
  const bundle = await hostBundle(dir);
  cleanups.push(
    () => fake.close(),
    () => bundle.close(),
  );
  const settings: KubernetesSettings = {
    ...kubernetesSettings({ namespace: NAMESPACE, base_image: BASE_IMAGE, pending_timeout_s: 60 }),
    ...over,
  };
  return {
    fake,
    bundle,
    settings,
    driver: (o = {}) =>
      createKubernetesRunnerDriver({
        settings: { ...settings, ...o },
        kubeConfig: fake.kubeConfig(),
        bundleUrl: async (digest) => (digest === bundle.digest ? bundle.url : null),
        address: fakePodAddress,
      }),
  };
}
