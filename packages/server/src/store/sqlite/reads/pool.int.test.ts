import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { threadId } from 'node:worker_threads';
import { PlatformError } from '@hangar/core';
import type Database from 'better-sqlite3';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { insertRequests } from '../../../api/analytics/harness.test-helper.js';
import { openDatabase } from '../open.js';
import { createQueryPool, type QueryPool, type QueryWorkerFailure } from './pool.js';
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
    const err = await pool.run('crash', {}).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(PlatformError);
    expect(err).toMatchObject({ code: 'QUERY_WORKER_FAILED', status: 500, type: 'server_error' });
    const after = await Promise.all(
      Array.from({ length: 8 }, () => pool!.run<{ value: number; threadId: number }>('echo', { value: 7 })),
    );
    expect(after.map((a) => a.value)).toEqual(Array(8).fill(7));
    // Still two workers, one of them new.
    const afterThreads = new Set(after.map((a) => a.threadId));
    expect(afterThreads.size).toBe(2);
    expect([...afterThreads].some((t) => !threads.some((b) => b.threadId === t))).toBe(true);
  });

  it('fails every call waiting on a worker that dies, logs once, and keeps serving', async () => {
    const failures: QueryWorkerFailure[] = [];
    pool = createQueryPool({ dbPath, size: 1, modules: MODULES, onWorkerFailure: (f) => failures.push(f) });
    // One worker answers in order: the echoes wait behind the crash and die with it.
    const calls = [pool.run('crash', {}), pool.run('echo', { value: 1 }), pool.run('echo', { value: 2 })];
    const outcomes = await Promise.allSettled(calls);
    for (const o of outcomes) {
      expect(o.status).toBe('rejected');
      expect((o as PromiseRejectedResult).reason).toMatchObject({ code: 'QUERY_WORKER_FAILED' });
    }
    expect(failures).toEqual([{ reason: 'exited with code 3', failedCalls: 3, cause: undefined }]);
    await expect(pool.run('echo', { value: 3 })).resolves.toMatchObject({ value: 3 });
  });

  it('fails a call whose answer this thread cannot read instead of leaving it waiting', async () => {
    const failures: QueryWorkerFailure[] = [];
    pool = createQueryPool({ dbPath, size: 1, modules: MODULES, onWorkerFailure: (f) => failures.push(f) });
    // 10,000 levels clone on a worker's 4 MB stack but not back on this thread's smaller one.
    const err = await pool.run('deep', { depth: 10_000 }).catch((e: unknown) => e);
    expect(err).toMatchObject({ code: 'QUERY_WORKER_FAILED' });
    expect(failures.map((f) => f.reason)).toEqual(['answer could not be read']);
    await expect(pool.run('echo', { value: 1 })).resolves.toMatchObject({ value: 1 });
  });

  it('fails a call whose result the worker cannot send, and the worker lives on', async () => {
    const failures: QueryWorkerFailure[] = [];
    pool = createQueryPool({ dbPath, size: 1, modules: MODULES, onWorkerFailure: (f) => failures.push(f) });
    const before = await pool.run<{ threadId: number }>('echo', { value: 0 });
    await expect(pool.run('deep', { depth: 1_000_000 })).rejects.toThrow(/could not be sent/);
    await expect(pool.run('echo', { value: 1 })).resolves.toMatchObject({ threadId: before.threadId });
    expect(failures).toEqual([]);
  });

  it('times out a stuck call, replaces its worker and fails the calls behind it', async () => {
    const failures: QueryWorkerFailure[] = [];
    pool = createQueryPool({
      dbPath,
      size: 1,
      modules: MODULES,
      timeoutMs: 300,
      onWorkerFailure: (f) => failures.push(f),
    });
    const before = await pool.run<{ threadId: number }>('echo', { value: 0 });
    const stuck = pool.run('spin', { ms: 20_000 }).catch((e: unknown) => e);
    const behind = pool.run('echo', { value: 1 }).catch((e: unknown) => e);
    expect(await stuck).toMatchObject({ code: 'QUERY_TIMEOUT', status: 504 });
    expect(await behind).toMatchObject({ code: 'QUERY_WORKER_FAILED' });
    expect(failures).toMatchObject([{ reason: 'call "spin" exceeded 300 ms', failedCalls: 2 }]);
    const after = await pool.run<{ threadId: number }>('echo', { value: 2 });
    expect(after.threadId).not.toBe(before.threadId);
  });

  it('answers at once while workers cannot start, instead of waiting for ever', async () => {
    const failures: QueryWorkerFailure[] = [];
    pool = createQueryPool({
      dbPath: join(dir, 'missing', 'hangar.db'),
      size: 1,
      modules: MODULES,
      onWorkerFailure: (f) => failures.push(f),
    });
    for (let i = 0; i < 3; i++) {
      await expect(pool.run('echo', { value: i })).rejects.toMatchObject({ code: 'QUERY_WORKER_FAILED' });
    }
    expect(failures.length).toBeGreaterThan(0);
  });

  it('fails pending calls with SERVER_SHUTTING_DOWN on close', async () => {
    pool = createQueryPool({ dbPath, size: 1, modules: MODULES });
    const pending = pool.run('spin', { ms: 5_000 }).catch((e: unknown) => e);
    await pool.close();
    expect(await pending).toMatchObject({ code: 'SERVER_SHUTTING_DOWN' });
    pool = null;
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
