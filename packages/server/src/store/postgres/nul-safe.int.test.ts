import type { LogFilter } from '@hangar/core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  type PgTestServer,
  postgresMissing,
  startPostgres,
} from '../../test-services/postgres.test-helper.js';
import { logFilterFixture, logFixture } from '../fixtures.js';
import { createPostgresStores, type PostgresStores } from './index.js';

// PostgreSQL text cannot hold NUL; SQLite can. A log line holding one is stored (as U+FFFD) instead of
// failing its batch, and lookups and filters holding one answer like any other value instead of failing.
describe.skipIf(postgresMissing !== null)('NUL in text on PostgreSQL', () => {
  let db: PgTestServer;
  let stores: PostgresStores;

  beforeAll(async () => {
    db = await startPostgres();
    stores = await createPostgresStores(await db.createDatabase(), { maintenanceIntervalMs: 0 });
  });
  afterAll(async () => {
    await stores?.close();
    await db?.close();
  });

  const filter = (over: Partial<LogFilter>) => logFilterFixture(0, 10_000, { traceback: false, ...over });

  it('stores a log line holding NUL, and a filter holding the same value finds it', async () => {
    const line = logFixture('req-1', 'before\u0000after');
    line.labels['zone'] = 'e\u0000u';
    stores.logs.append([line, logFixture('req-2', 'plain')]);
    await stores.flush();
    const page = await stores.reads.logs.historyPage({
      filter: filter({ labels: [{ key: 'zone', op: 'eq', values: ['e\u0000u'] }] }),
      bounds: [],
      limit: 10,
    });
    const items = JSON.parse(page.itemsJson) as { message: string }[];
    expect(items.map((i) => i.message)).toEqual(['before\uFFFDafter']);
  });

  it('answers lookups and filters holding NUL as finding nothing', async () => {
    expect(await stores.apps.getApp('acme', 'ec\u0000ho')).toBeNull();
    expect(await stores.reads.apps.exists({ owner: 'acme', app: '\u0000' })).toBe(false);
    const page = await stores.reads.logs.historyPage({
      filter: filter({ revision: '\u0000' }),
      bounds: [],
      limit: 10,
    });
    expect(JSON.parse(page.itemsJson)).toEqual([]);
  });
});
