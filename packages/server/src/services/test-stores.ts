import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { AppEvent, Stores } from '@hangar/core';
import { createSqliteStores } from '../store/sqlite/index.js';
import { openReadOnly } from '../store/sqlite/open.js';

/** Real SQLite stores in a fresh temporary directory, for service and route tests. */
export interface TestStores {
  stores: Stores;
  /** The temporary directory (removed by `close`). */
  dir: string;
  /** Events committed so far, oldest first (the EventStore port has no reader). */
  events(): Promise<AppEvent[]>;
  close(): Promise<void>;
}

/** Opens SQLite stores on a file in a new temporary directory. */
export function openTestStores(clock?: () => number): TestStores {
  const dir = mkdtempSync(join(tmpdir(), 'hangar-svc-'));
  const dbPath = join(dir, 'hangar.db');
  const stores = createSqliteStores({ path: dbPath, clock });
  return {
    stores,
    dir,
    async events() {
      await stores.flush();
      const db = openReadOnly(dbPath);
      try {
        const rows = db.prepare('SELECT * FROM events ORDER BY created_at, rowid').all() as Record<
          string,
          unknown
        >[];
        return rows.map((r) => ({
          eventId: String(r['event_id']),
          owner: String(r['owner']),
          app: String(r['app']),
          category: r['category'] as AppEvent['category'],
          createdAt: Number(r['created_at']),
          payload: JSON.parse(String(r['payload'])) as Record<string, unknown>,
        }));
      } finally {
        db.close();
      }
    },
    async close() {
      await stores.close();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}
