import { spawn } from 'node:child_process';
import { mkdirSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { RunnerDriver, RunnerRow, RunnerSpec, Stores } from '@hangar/core';
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
function sqliteBed(sharedRegistry = false): {
  sup: Supervisor;
  stores: Stores;
  dbPath: string;
  dir: string;
  stateDir: string;
} {
  const home = mkdtempSync(join(tmpdir(), 'hangar-records-'));
  const dbPath = join(home, 'hangar.db');
  const stateDir = join(home, 'run', 'runners');
  const stores = createSqliteStores({ path: dbPath });
  const { dir, cleanup } = makeAppDir();
  let n = 0;
  const sup = createSupervisor({
    driver: createProcessRunnerDriver({ stateDir }),
    stores,
    logBus: createLogBus(),
    machineTypes: MACHINE_TYPES,
    nodeId: 'n1',
    sharedRegistry,
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
  return { sup, stores, dbPath, dir, stateDir };
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

  it('recover() removes the runners an earlier server process of this node left and closes their records', async () => {
    const { sup, stores, dbPath, stateDir } = sqliteBed();
    // The earlier server process: a driver over the same state folder.
    const before = createProcessRunnerDriver({ stateDir });
    const orphan = await startIdle(before, 'orphan-1', 'n1');
    const elsewhere = await startIdle(before, 'other-1', 'n2');
    cleanups.push(() => elsewhere.kill());
    const t = Date.now() - 10_000;
    stores.runners.upsertRunner({
      ...rowFor(orphan.ref),
      runnerId: 'orphan-1',
      startedAt: t,
      meteredUntil: t + 5000,
    });
    await sup.recover();
    expect(await orphan.exit).toBe('SIGKILL');
    // Another node's runner is not this server's to remove.
    expect(() => process.kill(Number(elsewhere.ref), 0)).not.toThrow();
    expect((await before.discover('n1')).map((f) => f.labels.runnerId)).toEqual([]);
    expect((await before.discover('n2')).map((f) => f.labels.runnerId)).toEqual(['other-1']);
    expect(await stores.runners.listLiveRunners()).toEqual([]);
    await stores.flush();
    const [row] = query<{ state: string; ended_at: number; pid: unknown }>(
      dbPath,
      "SELECT * FROM runners WHERE runner_id = 'orphan-1'",
    );
    expect(row).toEqual(expect.objectContaining({ state: 'terminated', ended_at: t + 5000 }));
    expect(String(row?.pid)).toBe(orphan.ref);
    const events = query<{ category: string; payload: string }>(dbPath, 'SELECT * FROM events');
    expect(events.map((e) => e.category)).toEqual(['runner_failed']);
    expect(JSON.parse(events[0]!.payload)).toMatchObject({ job_id: 'orphan-1', machine_type: 'CPU' });
    // A registry row whose runner is gone is closed all the same.
    stores.runners.upsertRunner(rowFor('999999999'));
    await expect(sup.recover()).resolves.toBeUndefined();
    expect(await stores.runners.listLiveRunners()).toEqual([]);
  });

  it('recover(previousEnd) on a cluster ends the earlier incarnation’s runners at its last heartbeat, metered to it', async () => {
    const { sup, stores, dbPath } = sqliteBed(true);
    // Ten seconds into a past minute, so the five metered seconds all fall in the one row written below.
    const now = Date.now();
    const t = now - (now % 60_000) - 110_000;
    // Metered until t + 5 s, but the process lived to its last heartbeat at t + 8 s.
    stores.runners.upsertRunner({
      ...rowFor('999999998'),
      runnerId: 'gone-1',
      nodeId: 'n1',
      startedAt: t,
      meteredUntil: t + 5000,
    });
    stores.runners.upsertRunner({
      ...rowFor('999999997'),
      runnerId: 'theirs-1',
      nodeId: 'n2',
      startedAt: t,
      meteredUntil: t,
    });
    stores.meter.record([
      {
        runnerId: 'gone-1',
        owner: 'alice',
        app: 'old',
        environment: 'main',
        machineType: 'CPU',
        isSurge: false,
        minute: t - (t % 60_000),
        seconds: 5,
      },
    ]);
    await stores.flush();
    await sup.recover(t + 8000);
    await stores.flush();
    const rows = query<{ runner_id: string; ended_at: number | null; metered_until: number }>(
      dbPath,
      'SELECT runner_id, ended_at, metered_until FROM runners ORDER BY runner_id',
    );
    expect(rows).toEqual([
      { runner_id: 'gone-1', ended_at: t + 8000, metered_until: t + 8000 },
      { runner_id: 'theirs-1', ended_at: null, metered_until: t },
    ]);
    const [metered] = query<{ s: number }>(
      dbPath,
      "SELECT sum(seconds) AS s FROM meter WHERE runner_id = 'gone-1'",
    );
    expect(metered?.s).toBeCloseTo(8, 6);
  });

  it('recover() never signals a pid that now names another process', async () => {
    const { sup, stateDir } = sqliteBed();
    const bystander = spawn(process.execPath, ['-e', 'setInterval(() => {}, 1000)'], {
      detached: true,
      stdio: 'ignore',
    });
    cleanups.push(() => void bystander.kill('SIGKILL'));
    await new Promise((r) => bystander.once('spawn', r));
    mkdirSync(stateDir, { recursive: true });
    const labels = { owner: 'alice', app: 'old', revisionId: 'rev-old', runnerId: 'stale-1', node: 'n1' };
    // The record of a runner whose pid the kernel has since given to an unrelated process.
    writeFileSync(
      join(stateDir, 'stale-1.json'),
      JSON.stringify({ pid: bystander.pid, startTime: '1', labels }),
    );
    await sup.recover();
    expect(bystander.exitCode).toBeNull();
    expect(() => process.kill(bystander.pid!, 0)).not.toThrow();
    expect(readdirSync(stateDir)).toEqual([]);
  });
});

/** Starts an app that never exits through `driver`, as runner `runnerId` of `node`. */
async function startIdle(driver: RunnerDriver, runnerId: string, node: string) {
  const { dir, cleanup } = makeAppDir();
  cleanups.push(cleanup);
  const spec: RunnerSpec = {
    runnerId,
    owner: 'alice',
    app: 'old',
    revisionId: 'rev-old',
    machineType: 'CPU',
    artifact: { kind: 'bundle', digest: null, dir, command: ['node', '-e', 'setInterval(() => {}, 1000)'] },
    dataDir: dir,
    env: {},
    secrets: {},
    resources: { cpu: null, memoryMb: null, gpus: null },
    healthPath: '/health',
    labels: { owner: 'alice', app: 'old', revisionId: 'rev-old', runnerId, node },
    placement: null,
  };
  let exited!: (signal: string | null) => void;
  const exit = new Promise<string | null>((r) => {
    exited = r;
  });
  const handle = await driver.start(spec, {
    onLine() {},
    onExit: (_code, signal) => exited(signal),
    onPhase() {},
  });
  return { ref: handle.ref, exit, kill: () => handle.kill() };
}

function rowFor(ref: string): RunnerRow {
  return {
    runnerId: 'orphan-2',
    owner: 'alice',
    app: 'old',
    revisionId: 'rev-old',
    machineType: 'CPU',
    ref,
    state: 'idle',
    startedAt: 0,
    endedAt: null,
    meteredUntil: 0,
    stateSince: 0,
    times: { seconds: {}, timeline: [] },
  };
}
