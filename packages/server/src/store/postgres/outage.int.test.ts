import { PlatformError } from '@hangar/core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  type PgTestServer,
  postgresMissing,
  startPostgres,
} from '../../test-services/postgres.test-helper.js';
import { logFixture, requestFixture } from '../fixtures.js';
import { createPostgresStores } from './index.js';

// A PostgreSQL crash and restart under a node's stores: what was acknowledged is kept, what arrives
// meanwhile is refused (inserts) or kept and retried (updates, completions, log lines).
describe.skipIf(postgresMissing !== null)('PostgreSQL stores through an outage', () => {
  let server: PgTestServer;
  beforeAll(async () => {
    server = await startPostgres();
  });
  afterAll(async () => {
    await server?.close();
  });

  it('refuses new requests with 503 DATABASE_UNAVAILABLE and loses no queued write', async () => {
    const url = await server.createDatabase();
    const errors: string[] = [];
    const stores = await createPostgresStores(url, { logger: { error: (_o, msg) => errors.push(msg) } });
    await stores.requests.insert(requestFixture('before'), Buffer.from('in'));
    await server.kill();

    const refused = await stores.requests.insert(requestFixture('during'), Buffer.from('x')).catch((e) => e);
    expect(refused).toBeInstanceOf(PlatformError);
    expect(refused).toMatchObject({ code: 'DATABASE_UNAVAILABLE', status: 503 });
    expect(Number((refused as PlatformError).headers['retry-after'])).toBeGreaterThan(0);
    expect((refused as Error).message).not.toMatch(/postgres:|127\.0\.0\.1/);
    await expect(stores.keys.ensureOwner('acme')).rejects.toMatchObject({ code: 'DATABASE_UNAVAILABLE' });
    await expect(stores.requests.get('before')).rejects.toMatchObject({ code: 'DATABASE_UNAVAILABLE' });

    stores.requests.update('before', { status: 'IN_PROGRESS', runnerId: 'r1', attempts: 1 });
    const lines = [logFixture('before', 'one'), logFixture('before', 'two')];
    stores.logs.append(lines);
    const result = { statusCode: 200, contentType: 'text/plain', body: Buffer.from('done') };
    stores.requests.complete('before', { statusCode: 200, endedAt: 9 }, result, Date.now() + 60_000);
    // Let the writer fail a few times against the dead server before it comes back.
    await new Promise((r) => setTimeout(r, 300));
    expect(errors).toContain('database unreachable: writes kept for retry');
    await server.start();

    await stores.flush();
    expect(await stores.requests.get('before')).toMatchObject({
      status: 'COMPLETED',
      runnerId: 'r1',
      attempts: 1,
      statusCode: 200,
    });
    expect((await stores.requests.getResult('before'))?.body.toString()).toBe('done');
    expect((await stores.logs.listByRequest('before')).map((l) => l.message)).toEqual(['one', 'two']);
    expect(await stores.requests.get('during')).toBeNull();
    await stores.requests.insert(requestFixture('after'), Buffer.from('in'));
    expect(await stores.requests.get('after')).not.toBeNull();
    expect(stores.droppedWrites()).toBe(0);
    await stores.close();
  });

  it('keeps at most maxQueuedWrites through an outage and says how many it dropped', async () => {
    const url = await server.createDatabase();
    const stores = await createPostgresStores(url, { logger: { error: () => {} }, maxQueuedWrites: 10 });
    await stores.requests.insert(requestFixture('q'), Buffer.from('in'));
    await server.kill();
    for (let i = 0; i < 25; i++) stores.logs.append([logFixture('q', `l${i}`)]);
    await new Promise((r) => setTimeout(r, 200));
    await server.start();
    await stores.flush();
    expect((await stores.logs.listByRequest('q')).map((l) => l.message)).toEqual(
      Array.from({ length: 10 }, (_, i) => `l${i}`),
    );
    expect(stores.droppedWrites()).toBe(15);
    await stores.close();
  });

  it('bounds the bytes kept through an outage too', async () => {
    const url = await server.createDatabase();
    const stores = await createPostgresStores(url, {
      logger: { error: () => {} },
      maxQueuedBytes: 64 * 1024,
    });
    await stores.requests.insert(requestFixture('big'), Buffer.from('in'));
    await server.kill();
    const big = 'x'.repeat(10 * 1024);
    for (let i = 0; i < 20; i++) stores.logs.append([logFixture('big', `${i} ${big}`)]);
    await server.start();
    await stores.flush();
    const kept = await stores.logs.listByRequest('big');
    expect(kept.length).toBeGreaterThan(0);
    expect(kept.length).toBeLessThan(7);
    expect(kept.length + stores.droppedWrites()).toBe(20);
    await stores.close();
  });
});
