import { type MeterRecord, PayloadPart, type Stores } from '@hangar/core';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { describeTelemetryCases } from './contract-telemetry.js';
import { logFixture, requestFixture, revisionFixture } from './fixtures.js';

/** What a store adapter's test gives the contract suite. */
export interface StoresHarness {
  stores: Stores;
  /** Opens the same backing data again; the suite closes `stores` first. */
  reopen?: () => Promise<Stores>;
  /** Reads the committed meter rows (the port has no reader). */
  meterRows?: () => Promise<MeterRecord[]>;
}

const KEY = { keyId: 'k1', owner: 'acme', scope: 'API' as const, name: 'ci', createdAt: 10, revokedAt: null };

/** The behaviour every `Stores` adapter must show; a new backend is done when this passes unchanged. */
export function describeStoresContract(name: string, open: () => Promise<StoresHarness>): void {
  describe(`Stores contract: ${name}`, () => {
    let h: StoresHarness;
    let s: Stores;
    beforeEach(async () => {
      h = await open();
      s = h.stores;
    });
    afterEach(async () => {
      await s.close();
    });

    it('keeps owners once each, sorted', async () => {
      await s.keys.ensureOwner('zeta');
      await s.keys.ensureOwner('acme');
      await s.keys.ensureOwner('acme');
      expect(await s.keys.listOwners()).toEqual(['acme', 'zeta']);
    });

    it('inserts, finds, lists and revokes keys', async () => {
      await s.keys.insertKey(KEY, 'hash1');
      await s.keys.insertKey({ ...KEY, keyId: 'k2', owner: 'other', scope: 'ADMIN', createdAt: 20 }, 'hash2');
      expect(await s.keys.findKey('k1')).toEqual({ key: KEY, secretHash: 'hash1' });
      expect(await s.keys.findKey('nope')).toBeNull();
      expect(await s.keys.listOwners()).toEqual(['acme', 'other']);
      expect((await s.keys.listKeys()).map((k) => k.keyId)).toEqual(['k1', 'k2']);
      expect((await s.keys.listKeys('other')).map((k) => k.keyId)).toEqual(['k2']);
      expect(await s.keys.revokeKey('k1', 99)).toBe(true);
      expect(await s.keys.revokeKey('k1', 100)).toBe(false);
      expect(await s.keys.revokeKey('nope', 100)).toBe(false);
      expect((await s.keys.findKey('k1'))?.key.revokedAt).toBe(99);
    });

    it('replaces every field of a key with the same id', async () => {
      await s.keys.insertKey(KEY, 'hash1');
      const admin = { ...KEY, owner: 'root', scope: 'ADMIN' as const, name: null, createdAt: 50 };
      await s.keys.replaceKey(admin, 'hash2');
      await s.keys.replaceKey({ ...KEY, keyId: 'k9' }, 'hash9');
      expect(await s.keys.findKey('k1')).toEqual({ key: admin, secretHash: 'hash2' });
      expect((await s.keys.listKeys()).map((k) => k.keyId)).toEqual(['k9', 'k1']);
      expect(await s.keys.listOwners()).toEqual(['acme', 'root']);
    });

    it('creates an app by revision and moves its current pointer', async () => {
      const r1 = revisionFixture('rev1', 'acme', 'echo', 100, { annotations: { a: 'b' } });
      await s.apps.putRevision(r1);
      expect(await s.apps.getApp('acme', 'echo')).toMatchObject({ currentRevision: 'rev1', createdAt: 100 });
      const r2 = revisionFixture('rev2', 'acme', 'echo', 200, { status: 'deploying', message: 'second' });
      r2.manifest.max_concurrency = 7;
      await s.apps.putRevision(r2);
      const app = await s.apps.getApp('acme', 'echo');
      expect(app).toEqual({
        owner: 'acme',
        name: 'echo',
        currentRevision: 'rev2',
        manifest: r2.manifest,
        dir: r2.dir,
        createdAt: 100,
        updatedAt: 200,
      });
      await s.apps.setRevisionStatus('rev2', 'failed');
      expect(await s.apps.listRevisions('acme', 'echo')).toEqual([{ ...r2, status: 'failed' }, r1]);
      expect(await s.apps.getApp('acme', 'nope')).toBeNull();
      await s.apps.putRevision(revisionFixture('rev3', 'beta', 'other', 300));
      expect((await s.apps.listApps()).map((a) => a.name)).toEqual(['echo', 'other']);
      expect((await s.apps.listApps('beta')).map((a) => a.name)).toEqual(['other']);
    });

    it('switches, deletes revisions and apps, and keeps app settings', async () => {
      await s.apps.putRevision(revisionFixture('rev1', 'acme', 'echo', 100));
      await s.apps.putRevision(revisionFixture('rev2', 'acme', 'echo', 200));
      await s.apps.setCurrentRevision('acme', 'echo', 'rev1', 300);
      expect(await s.apps.getApp('acme', 'echo')).toMatchObject({ currentRevision: 'rev1', updatedAt: 300 });
      expect(await s.apps.getSettings('acme', 'echo')).toEqual({ scaling: {}, rollout: null });
      const settings = {
        scaling: { min_concurrency: 2, keep_alive: 10 },
        rollout: { revisionId: 'rev2', percent: 10, startedAt: 400 },
      };
      await s.apps.putSettings('acme', 'echo', settings);
      expect(await s.apps.getSettings('acme', 'echo')).toEqual(settings);
      await s.apps.putSettings('acme', 'beta', { scaling: { max_concurrency: 3 }, rollout: null });
      expect(await s.apps.listSettings()).toEqual([
        { owner: 'acme', name: 'beta', settings: { scaling: { max_concurrency: 3 }, rollout: null } },
        { owner: 'acme', name: 'echo', settings },
      ]);
      await s.apps.deleteRevision('beta', 'echo', 'rev2');
      expect((await s.apps.listRevisions('acme', 'echo')).map((r) => r.revisionId)).toEqual(['rev2', 'rev1']);
      await s.apps.deleteRevision('acme', 'echo', 'rev2');
      expect((await s.apps.listRevisions('acme', 'echo')).map((r) => r.revisionId)).toEqual(['rev1']);
      await s.apps.putRevision(revisionFixture('rev3', 'beta', 'echo', 500));
      await s.apps.deleteApp('acme', 'echo');
      expect(await s.apps.getApp('acme', 'echo')).toBeNull();
      expect(await s.apps.listRevisions('acme', 'echo')).toEqual([]);
      expect(await s.apps.getSettings('acme', 'echo')).toEqual({ scaling: {}, rollout: null });
      expect((await s.apps.listSettings()).map((r) => r.name)).toEqual(['beta']);
      expect(await s.apps.getApp('beta', 'echo')).toMatchObject({ currentRevision: 'rev3' });
    });

    it("keeps a revision's bundle and records bundles per owner, first record winning", async () => {
      const digest = `sha256:${'a'.repeat(64)}`;
      await s.apps.putRevision(revisionFixture('rev1', 'acme', 'echo', 100, { bundle: digest }));
      expect((await s.apps.listRevisions('acme', 'echo'))[0]?.bundle).toBe(digest);
      expect(await s.apps.getBundle('acme', digest)).toBeNull();
      await s.apps.putBundle({ owner: 'acme', digest, bytes: 10, createdAt: 100 });
      await s.apps.putBundle({ owner: 'acme', digest, bytes: 10, createdAt: 200 });
      expect(await s.apps.getBundle('acme', digest)).toEqual({
        owner: 'acme',
        digest,
        bytes: 10,
        createdAt: 100,
      });
      expect(await s.apps.getBundle('beta', digest)).toBeNull();
      await s.apps.putBundle({ owner: 'beta', digest, bytes: 10, createdAt: 300 });
      expect((await s.apps.getBundle('beta', digest))?.createdAt).toBe(300);
    });

    it('records a request through insert, update and complete', async () => {
      const rec = requestFixture('req1');
      await s.requests.insert(rec, Buffer.from('{"prompt":"hi"}'));
      expect(await s.requests.get('req1')).toEqual(rec);
      s.requests.update('req1', { status: 'IN_PROGRESS', startedAt: 1_500, runnerId: 'run1', attempts: 1 });
      expect(await s.requests.get('req1')).toMatchObject({ status: 'IN_PROGRESS', runnerId: 'run1' });
      expect((await s.requests.getInput('req1'))?.toString()).toBe('{"prompt":"hi"}');
      expect(await s.requests.getResult('req1')).toBeNull();
      const body = Buffer.from('{"ok":true}');
      const patch = {
        endedAt: 2_000,
        statusCode: 200,
        durationMs: 500,
        coldStart: true,
        jsonOutput: { ok: true },
      };
      s.requests.complete(
        'req1',
        patch,
        { statusCode: 200, contentType: 'application/json', body },
        Date.now() + 60_000,
      );
      expect(await s.requests.get('req1')).toEqual({
        ...rec,
        ...patch,
        status: 'COMPLETED',
        startedAt: 1_500,
        runnerId: 'run1',
        attempts: 1,
      });
      const result = await s.requests.getResult('req1');
      expect(result).toMatchObject({ statusCode: 200, contentType: 'application/json' });
      expect(result?.body.equals(body)).toBe(true);
      expect(await s.requests.get('nope')).toBeNull();
    });

    it('never reopens a completed request with a late update (a start that arrives after the end)', async () => {
      await s.requests.insert(requestFixture('late'), Buffer.from('{}'));
      s.requests.complete('late', { endedAt: 2_000, statusCode: 200 }, null, Date.now() + 60_000);
      s.requests.update('late', { status: 'IN_PROGRESS', startedAt: 1_500, runnerId: 'run1', attempts: 1 });
      expect(await s.requests.get('late')).toMatchObject({
        status: 'COMPLETED',
        statusCode: 200,
        runnerId: 'run1',
      });
      expect((await s.requests.listUnfinished()).map((r) => r.requestId)).not.toContain('late');
    });

    it('keeps the platform headers of a stored result', async () => {
      await s.requests.insert(requestFixture('hdrs'), Buffer.from('{}'));
      const headers = { 'x-fal-error-type': 'request_timeout', 'x-fal-served-from': 'run1' };
      const body = Buffer.from('{"detail":"The request timed out","error_type":"request_timeout"}');
      s.requests.complete(
        'hdrs',
        {},
        { statusCode: 504, contentType: 'application/json', body, headers },
        Date.now() + 60_000,
      );
      expect(await s.requests.getResult('hdrs')).toMatchObject({ statusCode: 504, headers });
      await s.requests.insert(requestFixture('plain'), Buffer.from('{}'));
      s.requests.complete(
        'plain',
        {},
        { statusCode: 200, contentType: 'text/plain', body: Buffer.from('ok') },
        Date.now() + 60_000,
      );
      expect((await s.requests.getResult('plain'))?.headers).toBeUndefined();
    });

    it('stores payloads only with storeIo and truncates large ones', async () => {
      await s.requests.insert(requestFixture('quiet', { storeIo: false }), Buffer.from('x'));
      s.requests.complete('quiet', { jsonOutput: { secret: 1 } }, null, Date.now() + 60_000);
      expect(await s.requests.get('quiet')).toMatchObject({ jsonInput: null, jsonOutput: null });
      const big = { blob: 'x'.repeat(70 * 1024) };
      await s.requests.insert(requestFixture('big', { jsonInput: big }), Buffer.from('x'));
      const size = Buffer.byteLength(JSON.stringify(big));
      expect((await s.requests.get('big'))?.jsonInput).toEqual({ truncated: true, size });
      expect((await s.requests.getInput('big'))?.toString()).toBe('x');
    });

    it('keeps references to payload objects in place of the payloads', async () => {
      const rec = requestFixture('obj', { jsonInput: { prompt: 'big' } });
      await s.requests.insert(
        rec,
        Buffer.from('{"prompt":"big"}'),
        PayloadPart.input | PayloadPart.jsonInput,
      );
      expect(await s.requests.getInput('obj')).toBeNull();
      expect((await s.requests.get('obj'))?.jsonInput).toBeNull();
      const result = { statusCode: 200, contentType: 'application/json', body: Buffer.from('{"a":1}') };
      const expires = Date.now() + 60_000;
      s.requests.complete('obj', { jsonOutput: { a: 1 } }, result, expires, PayloadPart.result);
      const stored = await s.requests.getResult('obj');
      expect(stored).toMatchObject({ statusCode: 200, contentType: 'application/json' });
      expect(stored?.body.length).toBe(0);
      expect((await s.requests.get('obj'))?.jsonOutput).toEqual({ a: 1 });
      expect(await s.requests.payloadObjects('obj')).toEqual({
        requestId: 'obj',
        owner: rec.owner,
        parts: 7,
      });
      expect(await s.requests.payloadObjects('nope')).toBeNull();
      expect(await s.requests.expiredPayloadObjects(expires - 1)).toEqual([]);
      expect(await s.requests.expiredPayloadObjects(expires + 1)).toEqual([
        { requestId: 'obj', owner: rec.owner, parts: 7 },
      ]);
      expect(await s.requests.purgeResults(expires + 1)).toBeGreaterThanOrEqual(1);
      // The expired result drops its references; json_input's stays with the row.
      expect(await s.requests.payloadObjects('obj')).toMatchObject({ parts: PayloadPart.jsonInput });
      expect(await s.requests.expiredPayloadObjects(expires + 1)).toEqual([]);
      expect(await s.requests.getResult('obj')).toBeNull();
    });

    it('lists unfinished requests oldest first', async () => {
      await s.requests.insert(requestFixture('c', { sentAt: 3 }), Buffer.from('c'));
      await s.requests.insert(requestFixture('a', { sentAt: 1 }), Buffer.from('a'));
      await s.requests.insert(requestFixture('b', { sentAt: 2, status: 'IN_PROGRESS' }), Buffer.from('b'));
      s.requests.complete('a', { statusCode: 200 }, null, Date.now() + 60_000);
      expect((await s.requests.listUnfinished()).map((r) => r.requestId)).toEqual(['b', 'c']);
    });

    it('rejects only the failing insert of a batch', async () => {
      await s.requests.insert(requestFixture('dup'), Buffer.from('1'));
      const results = await Promise.allSettled([
        s.requests.insert(requestFixture('ok1'), Buffer.from('1')),
        s.requests.insert(requestFixture('dup'), Buffer.from('2')),
        s.requests.insert(requestFixture('ok2'), Buffer.from('3')),
      ]);
      expect(results.map((r) => r.status)).toEqual(['fulfilled', 'rejected', 'fulfilled']);
      expect((await s.requests.getInput('dup'))?.toString()).toBe('1');
      expect(await s.requests.get('ok2')).not.toBeNull();
    });

    it('purges expired results and inputs', async () => {
      const now = Date.now();
      for (const [id, expires] of [
        ['old', now + 1_000],
        ['new', now + 3_600_000],
      ] as const) {
        await s.requests.insert(requestFixture(id), Buffer.from(id));
        const result = { statusCode: 200, contentType: 'text/plain', body: Buffer.from(id) };
        s.requests.complete(id, { statusCode: 200 }, result, expires);
      }
      expect(await s.requests.purgeResults(now + 2_000)).toBe(1);
      expect(await s.requests.getResult('old')).toBeNull();
      expect(await s.requests.getInput('old')).toBeNull();
      expect((await s.requests.getResult('new'))?.body.toString()).toBe('new');
      expect(await s.requests.purgeResults(now + 2_000)).toBe(0);
    });

    describeTelemetryCases(() => ({ h, s }));

    it('keeps every resolved insert across close and reopen', async (ctx) => {
      if (!h.reopen) return ctx.skip();
      await s.requests.insert(requestFixture('durable'), Buffer.from('in'));
      s.requests.update('durable', { status: 'IN_PROGRESS' });
      const lines = [logFixture('durable', 'before')];
      s.logs.append(lines);
      await s.flush();
      await s.close();
      s = await h.reopen();
      expect(await s.requests.get('durable')).toMatchObject({ status: 'IN_PROGRESS' });
      expect((await s.requests.listUnfinished()).map((r) => r.requestId)).toEqual(['durable']);
      const next = [logFixture('durable', 'after')];
      s.logs.append(next);
      await s.flush();
      expect(next[0]!.id).toBeGreaterThan(lines[0]!.id!);
    });
  });
}
