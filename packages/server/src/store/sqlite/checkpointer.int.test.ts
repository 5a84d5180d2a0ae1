import { copyFileSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { afterAll, describe, expect, it } from 'vitest';
import { requestFixture } from '../fixtures.js';
import { createSqliteStores } from './index.js';

const dir = mkdtempSync(join(tmpdir(), 'hangar-checkpointer-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

/** Request ids found in the main database file alone, i.e. what checkpoints have copied out of the WAL. */
function idsInMainFile(path: string, copy: string): string[] {
  copyFileSync(path, copy);
  const db = new Database(copy, { readonly: true });
  try {
    return (
      db.prepare('SELECT request_id FROM requests ORDER BY request_id').all() as { request_id: string }[]
    ).map((r) => r.request_id);
  } finally {
    db.close();
  }
}

describe('background checkpoints', () => {
  it('copy committed rows into the database file long before SQLite would checkpoint on its own', async () => {
    const path = join(dir, 'bg.db');
    const stores = createSqliteStores({ path, flushIntervalMs: 2, checkpointIntervalMs: 20 });
    try {
      for (const id of ['a', 'b', 'c']) await stores.requests.insert(requestFixture(id), Buffer.from('{}'));
      await expect
        .poll(() => idsInMainFile(path, join(dir, 'copy.db')), { timeout: 10_000 })
        .toEqual(['a', 'b', 'c']);
      expect(await stores.requests.get('b')).toMatchObject({ requestId: 'b' });
    } finally {
      await stores.close();
    }
    const reopened = createSqliteStores({ path });
    expect((await reopened.requests.listUnfinished()).map((r) => r.requestId)).toEqual(['a', 'b', 'c']);
    await reopened.close();
  });
});
