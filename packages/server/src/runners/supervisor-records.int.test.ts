import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Stores } from '@hangar/core';
import Database from 'better-sqlite3';
import { afterEach, describe, expect, it } from 'vitest';
import { createSqliteStores } from '../store/sqlite/index.js';
import { createLogBus } from './log-bus.js';
import { createProcessRunnerDriver } from './process-driver.js';
import { createSupervisor, type Supervisor } from './supervisor.js';
import { MACHINE_TYPES, makeAppDir, manifest, request, revision, until } from './supervisor.test-helper.js';

const cleanups: Array<() => Promise<void> | void> = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

/** A supervisor over SQLite stores in a temp dir. */
function sqliteBed(): { sup: Supervisor; stores: Stores; dbPath: string; dir: string } {
  const home = mkdtempSync(join(tmpdir(), 'hangar-records-'));
  const dbPath = join(home, 'hangar.db');
  const stores = createSqliteStores({ path: dbPath });
  const { dir, cleanup } = makeAppDir();
  let n = 0;
  const sup = createSupervisor({
    driver: createProcessRunnerDriver(),
    stores,
    logBus: createLogBus(),
    machineTypes: MACHINE_TYPES,
    dataRoot: (owner) => join(home, 'files', owner),
    clock: Date.now,
    ids: () => `r${++n}-${process.pid}`,
    logger: { info() {}, warn() {}, error() {} },
    healthIntervalMs: 20,
    meterIntervalMs: 30,
    sampleIntervalMs: 30,
  });
  cleanups.push(
    () => rmSync(home, { recursive: true, force: true }),
    cleanup,
    () => stores.close(),
    () => sup.close(2000),
  );
  return { sup, stores, dbPath, dir };
}

function query<T>(dbPath: string, sql: string): T[] {
  const db = new Database(dbPath, { readonly: true });
  try {
    return db.prepare(sql).all() as T[];
  } finally {
    db.close();
  }
}

describe('supervisor records (SQLite)', () => {
  it('meters each runner per minute, rewriting rows as they grow, with the surge flag', async () => {
    const { sup, stores, dbPath, dir } = sqliteBed();
    const { app, rev } = revision(dir, manifest({ name: 'metered', min_concurrency: 2, max_concurrency: 2 }));
    await sup.deploy(app, rev);
    await until(() => sup.stats()[0]?.runners.idle === 2);
    expect((await sup.dispatch(request('metered'))).statusCode).toBe(200);
    await new Promise((r) => setTimeout(r, 200));
    await sup.close(2000);
    await stores.flush();

    type Row = { runner_id: string; minute: number; seconds: number; is_surge: number; machine_type: string };
    const rows = query<Row>(dbPath, 'SELECT * FROM meter ORDER BY runner_id, minute');
    const runners = query<{ runner_id: string; started_at: number; ended_at: number; state: string }>(
      dbPath,
      'SELECT * FROM runners ORDER BY runner_id',
    );
    expect(runners).toHaveLength(2);
    for (const r of runners) {
      expect(r.state).toBe('terminated');
      const mine = rows.filter((row) => row.runner_id === r.runner_id);
      // Many meter ticks rewrote the same minute(s): one row per minute touched.
      expect(new Set(mine.map((m) => m.minute)).size).toBe(mine.length);
      expect(mine.length).toBeLessThanOrEqual(2);
      const total = mine.reduce((s, m) => s + m.seconds, 0);
      expect(total).toBeCloseTo((r.ended_at - r.started_at) / 1000, 3);
      expect(mine.every((m) => m.minute % 60_000 === 0 && m.machine_type === 'CPU')).toBe(true);
    }
    // CPU reserves one runner: the second live one is surge.
    const surge = runners.map((r) => rows.find((m) => m.runner_id === r.runner_id)!.is_surge).sort();
    expect(surge).toEqual([0, 1]);
    const samples = query<{ idle: number }>(dbPath, 'SELECT * FROM runner_samples');
    expect(samples.some((s) => s.idle === 2)).toBe(true);
  });

  it('recover() reaps an orphaned runner process and closes its record', async () => {
    const { sup, stores, dbPath } = sqliteBed();
    const orphan = spawn(process.execPath, ['-e', 'setInterval(() => {}, 1000)'], {
      detached: true,
      stdio: 'ignore',
    });
    const exited = new Promise<string | null>((resolve) => orphan.once('exit', (_c, sig) => resolve(sig)));
    await new Promise((r) => orphan.once('spawn', r));
    const t = Date.now() - 10_000;
    stores.runners.upsertRunner({
      runnerId: 'orphan-1',
      owner: 'alice',
      app: 'old',
      revisionId: 'rev-old',
      machineType: 'CPU',
      pid: orphan.pid!,
      state: 'idle',
      startedAt: t,
      endedAt: null,
      meteredUntil: t + 5000,
    });
    await sup.recover();
    expect(await exited).toBe('SIGKILL');
    expect(await stores.runners.listLiveRunners()).toEqual([]);
    await stores.flush();
    const [row] = query<{ state: string; ended_at: number }>(
      dbPath,
      "SELECT * FROM runners WHERE runner_id = 'orphan-1'",
    );
    expect(row).toEqual(expect.objectContaining({ state: 'terminated', ended_at: t + 5000 }));
    const events = query<{ category: string; payload: string }>(dbPath, 'SELECT * FROM events');
    expect(events.map((e) => e.category)).toEqual(['runner_failed']);
    expect(JSON.parse(events[0]!.payload)).toMatchObject({ job_id: 'orphan-1', machine_type: 'CPU' });
    // A pid that no longer exists is not an error.
    stores.runners.upsertRunner(rowFor(orphan.pid!));
    await expect(sup.recover()).resolves.toBeUndefined();
    expect(await stores.runners.listLiveRunners()).toEqual([]);
  });
});

function rowFor(pid: number) {
  return {
    runnerId: 'orphan-2',
    owner: 'alice',
    app: 'old',
    revisionId: 'rev-old',
    machineType: 'CPU',
    pid,
    state: 'idle',
    startedAt: 0,
    endedAt: null,
    meteredUntil: 0,
  };
}
