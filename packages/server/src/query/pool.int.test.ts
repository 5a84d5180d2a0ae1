import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { threadId } from 'node:worker_threads';
import { PlatformError } from '@hangar/core';
import type Database from 'better-sqlite3';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { insertRequests } from '../api/analytics/harness.test-helper.js';
import { openDatabase } from '../store/sqlite/open.js';
import { createQueryPool, type QueryPool } from './pool.js';
import type { ListRequestsResult } from './requests.js';

const MODULES = [
  new URL('./registry.ts', import.meta.url),
  new URL('./pool-fixture.test-helper.ts', import.meta.url),
];

let dir: string;
let dbPath: string;
let db: Database.Database;
let pool: QueryPool | null = null;

beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'hangar-pool-'));
  dbPath = join(dir, 'hangar.db');
  db = openDatabase(dbPath);
});
afterEach(async () => {
  await pool?.close();
  pool = null;
  db.close();
  rmSync(dir, { recursive: true, force: true });
});

const listParams = {
  endpoints: [{ id: 'alice/img', bare: true }],
  startMs: 0,
  endMs: Date.UTC(2030, 0, 1),
  status: null,
  requestId: null,
  sortBy: 'ended_at',
  limit: 10,
  after: null,
  payloads: false,
  billing: false,
};

describe.each([
  ['workers', 1],
  ['inline', 0],
])('query pool (%s)', (_name, size) => {
  it('runs registered queries and sees rows committed after it started', async () => {
    pool = createQueryPool({ dbPath, size, modules: MODULES });
    const first = await pool.run<ListRequestsResult>('listRequests', listParams);
    expect(first.items).toEqual([]);
    insertRequests(db, [
      { endpoint: 'alice/img/turbo', sentAt: 1000, startedAt: 1100, endedAt: 2000, statusCode: 200 },
    ]);
    const second = await pool.run<ListRequestsResult>('listRequests', listParams);
    expect(second.items.map((i) => i.endpoint_id)).toEqual(['alice/img/turbo']);
    const echo = await pool.run<{ value: unknown; threadId: number }>('echo', { value: { a: [1, 'x'] } });
    expect(echo.value).toEqual({ a: [1, 'x'] });
    expect(echo.threadId !== threadId).toBe(size > 0);
  });

  it('rethrows PlatformErrors with their code and refuses writes', async () => {
    pool = createQueryPool({ dbPath, size, modules: MODULES });
    const err = await pool.run('refuse', {}).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(PlatformError);
    expect((err as PlatformError).code).toBe('REQUEST_INVALID');
    await expect(pool.run('write', {})).rejects.toThrow(/readonly|read-only|query_only/i);
    await expect(pool.run('nope', {})).rejects.toThrow(/unknown query/);
  });
});

describe('query pool (workers)', () => {
  it('spreads calls over workers and replaces a crashed one', async () => {
    pool = createQueryPool({ dbPath, size: 2, modules: MODULES });
    const threads = await Promise.all(
      Array.from({ length: 8 }, () => pool!.run<{ threadId: number }>('echo', { value: 1 })),
    );
    expect(new Set(threads.map((t) => t.threadId)).size).toBe(2);
    await expect(pool.run('crash', {})).rejects.toThrow(/exited/);
    const after = await Promise.all(
      Array.from({ length: 4 }, () => pool!.run<{ value: number }>('echo', { value: 7 })),
    );
    expect(after.map((a) => a.value)).toEqual([7, 7, 7, 7]);
  });
});

describe.runIf(existsSync('/proc/thread-self/stat'))('query pool thread priority', () => {
  it('runs its worker threads at the requested nice value and leaves the caller at its own', async () => {
    pool = createQueryPool({ dbPath, size: 2, modules: MODULES, nice: 7 });
    const inline = createQueryPool({ dbPath, size: 0, modules: MODULES });
    try {
      const own = await inline.run<number>('nice', {});
      const workers = await Promise.all(Array.from({ length: 6 }, () => pool!.run<number>('nice', {})));
      expect(workers).toEqual(Array(6).fill(Math.max(own, 7)));
      expect(own).toBeLessThan(7);
    } finally {
      await inline.close();
    }
  });
});
