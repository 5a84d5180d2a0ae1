import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { MeterRecord } from '@hangar/core';
import { afterAll, describe, expect, it } from 'vitest';
import { describeStoresContract } from '../contract.js';
import { requestFixture } from '../fixtures.js';
import { describeSecretStoreContract } from '../secret-contract.js';
import { createSqliteStores, openReadOnly } from './index.js';
import { MIGRATIONS } from './schema.js';

const dir = mkdtempSync(join(tmpdir(), 'hangar-sqlite-stores-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));
let n = 0;

function meterRows(path: string): () => Promise<MeterRecord[]> {
  return async () => {
    const db = openReadOnly(path);
    try {
      const rows = db.prepare('SELECT * FROM meter').all() as Record<string, unknown>[];
      return rows.map((r) => ({
        runnerId: r.runner_id as string,
        minute: r.minute as number,
        owner: r.owner as string,
        app: r.app as string,
        environment: r.environment as string,
        machineType: r.machine_type as string,
        isSurge: r.is_surge === 1,
        seconds: r.seconds as number,
      }));
    } finally {
      db.close();
    }
  };
}

describeStoresContract('sqlite', async () => {
  const path = join(dir, `stores-${n++}.db`);
  // The contract provokes a failing row on purpose; keep its expected error report out of the output.
  const logger = { error: () => {} };
  return {
    stores: createSqliteStores({ path, logger }),
    reopen: async () => createSqliteStores({ path, logger }),
    meterRows: meterRows(path),
  };
});

describeSecretStoreContract('sqlite', async () => {
  const path = join(dir, `secrets-${n++}.db`);
  const openAt = async () => {
    const stores = createSqliteStores({ path });
    return { secrets: stores.secrets, close: () => stores.close() };
  };
  return { ...(await openAt()), reopen: openAt };
});

describe('sqlite stores', () => {
  it('commits a resolved insert where another connection sees it, and migrates once', async () => {
    const path = join(dir, 'visible.db');
    const stores = createSqliteStores({ path });
    await stores.requests.insert(requestFixture('seen'), Buffer.from('in'));
    const ro = openReadOnly(path);
    try {
      expect(ro.prepare('SELECT request_id FROM requests').pluck().all()).toEqual(['seen']);
      expect(ro.pragma('user_version', { simple: true })).toBe(MIGRATIONS.length);
      expect(ro.pragma('journal_mode', { simple: true })).toBe('wal');
      expect(() => ro.prepare('DELETE FROM requests').run()).toThrow();
    } finally {
      ro.close();
      await stores.close();
    }
    const again = createSqliteStores({ path });
    expect(await again.requests.get('seen')).not.toBeNull();
    await again.close();
  });

  it('group-commits many inserts and keeps updates after their insert', async () => {
    const path = join(dir, 'group.db');
    const stores = createSqliteStores({ path });
    const ids = Array.from({ length: 500 }, (_, i) => `g${i}`);
    const done = ids.map((id) => stores.requests.insert(requestFixture(id), Buffer.from(id)));
    for (const id of ids) stores.requests.update(id, { status: 'IN_PROGRESS', runnerId: id });
    await Promise.all(done);
    await stores.flush();
    const ro = openReadOnly(path);
    const count = ro.prepare(
      "SELECT count(*) FROM requests WHERE status = 'IN_PROGRESS' AND runner_id = request_id",
    );
    expect(count.pluck().get()).toBe(500);
    ro.close();
    await stores.close();
  });

  it('maps log labels to their own columns', async () => {
    const path = join(dir, 'labels.db');
    const stores = createSqliteStores({ path });
    stores.logs.append([
      {
        ts: 1,
        owner: 'acme',
        app: 'echo',
        revision: 'rev1',
        level: 'info',
        message: 'hello',
        labels: { fal_request_id: 'q', fal_job_id: 'j', fal_endpoint: 'acme/echo', source: 'stderr', x: 'y' },
      },
    ]);
    await stores.flush();
    const ro = openReadOnly(path);
    const row = ro.prepare('SELECT request_id, job_id, endpoint, source, labels FROM logs').get();
    expect(row).toEqual({
      request_id: 'q',
      job_id: 'j',
      endpoint: 'acme/echo',
      source: 'stderr',
      labels: '{"fal_request_id":"q","fal_job_id":"j","fal_endpoint":"acme/echo","source":"stderr","x":"y"}',
    });
    ro.close();
    await stores.close();
  });
});
