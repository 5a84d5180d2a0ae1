import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { createSecretKeyring } from '../secrets/keyring.js';
import { createSecretService } from '../secrets/secret-service.js';
import { MemorySecretStore } from '../store/memory/secrets.js';
import { json, manifest, request, revision, testBed, until } from './supervisor.test-helper.js';

const cleanups: Array<() => Promise<void> | void> = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

function secretBed() {
  const keyDir = mkdtempSync(join(tmpdir(), 'hangar-sup-secrets-'));
  cleanups.push(() => rmSync(keyDir, { recursive: true, force: true }));
  const store = new MemorySecretStore();
  const keyring = createSecretKeyring({ key: null, previousKey: null, keyPath: join(keyDir, 'secrets.key') });
  const secrets = createSecretService({ store, keyring, clock: Date.now });
  return { store, secrets, h: testBed(cleanups, { secrets }) };
}

describe('supervisor: secrets', () => {
  it("starts runners with the owner's secrets and masks their values in stored log lines", async () => {
    const { secrets, h } = secretBed();
    // The test app prints "plain line" per request: as a secret value it must never be stored.
    await secrets.set('alice', 'MY_TOKEN', 'plain line');
    await secrets.set('bob', 'BOBS_TOKEN', 'bob-value');
    const { app, rev } = revision(h.dir, manifest({ name: 'sec' }));
    await h.sup.deploy(app, rev);
    const res = await h.sup.dispatch(request('sec'));
    expect(res.statusCode).toBe(200);
    const envKeys = json(res.body).envKeys as string[];
    expect(envKeys).toContain('MY_TOKEN');
    expect(envKeys).not.toContain('BOBS_TOKEN');
    const logs = await until(() => {
      const lines = h.stores.snapshot().logs.filter((l) => l.labels.source === 'stdout');
      return lines.some((l) => l.message === '***') ? lines : undefined;
    });
    expect(logs.map((l) => l.message)).not.toContain('plain line');
  });

  it('does not start a runner whose secret cannot be opened, naming the secret and never a value', async () => {
    const { store, secrets, h } = secretBed();
    await secrets.set('alice', 'BROKEN', 'broken-secret-value');
    const [row] = await store.listSecrets('alice');
    // Flip every bit of the last byte: setting it to a fixed value would change nothing 1 time in 256.
    const sealed = Buffer.from(row!.sealed);
    sealed[sealed.length - 1]! ^= 0xff;
    await store.putSecret({ ...row!, sealed });
    const { app, rev } = revision(h.dir, manifest({ name: 'sealed', min_concurrency: 0 }));
    await h.sup.deploy(app, rev);
    const res = await h.sup.dispatch(request('sealed', {}, { timeoutMs: 800 }));
    expect(res.errorClass).toBe('startup');
    const failure = await until(() =>
      h.stores.snapshot().events.find((e) => e.category === 'runner_startup_failure'),
    );
    expect(String(failure.payload.reason)).toMatch(/Secret BROKEN does not authenticate/);
    expect(JSON.stringify(h.stores.snapshot())).not.toContain('broken-secret-value');
  });
});
