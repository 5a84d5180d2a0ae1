import { MINUTE_MS } from '@hangar/core';
import { afterEach, expect, it } from 'vitest';
import { createLogBus } from '../../runners/log-bus.js';
import { createProcessRunnerDriver } from '../../runners/process-driver.js';
import { createSupervisor, type Supervisor } from '../../runners/supervisor.js';
import { makeAppDir, manifest, revision, until } from '../../runners/supervisor.test-helper.js';
import { type Harness, MACHINE_TYPES, openHarness } from '../analytics/harness.test-helper.js';
import { describeOnBackends, type ReadsBackend } from '../testing/backends.test-helper.js';

// A real runner process under a supervisor whose clock the test holds still and moves by hand, writing
// to the same SQLite file the usage route reads (on PostgreSQL: mirrored before each request). With
// metering on (every 20 ms of real time) each metering rewrites the same values while the clock stands
// still, so the test waits for the store, never for time.

const T0 = Date.UTC(2025, 2, 12, 12, 0, 30);

const cleanups: Array<() => Promise<void> | void> = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

async function bed(
  backend: ReadsBackend,
  meterIntervalMs: number,
): Promise<{ h: Harness; sup: Supervisor; dir: string }> {
  let sup: Supervisor | null = null;
  const h = await openHarness({
    backend,
    now: T0,
    liveMeter: (owner, now) => sup?.liveMeter(owner, now) ?? [],
  });
  const { dir, cleanup } = makeAppDir();
  sup = createSupervisor({
    driver: createProcessRunnerDriver(),
    stores: h.stores,
    logBus: createLogBus(),
    machineTypes: MACHINE_TYPES,
    dataRoot: (owner) => `${dir}/data/${owner}`,
    clock: () => h.clock.now,
    ids: () => 'runner-live',
    logger: { info() {}, warn() {}, error() {} },
    healthIntervalMs: 20,
    meterIntervalMs,
    sampleIntervalMs: 60_000,
  });
  const s = sup;
  cleanups.push(
    () => h.close(),
    cleanup,
    () => s.close(2000),
  );
  return { h, sup, dir };
}

/** Deploys alice/img on GPU-H100 and waits for its runner; it was set up at T0. */
async function startRunner(sup: Supervisor, dir: string): Promise<void> {
  const { app, rev } = revision(dir, manifest({ name: 'img', machine_type: 'GPU-H100' }));
  await sup.deploy(app, rev);
  await until(() => sup.stats()[0]?.runners.idle === 1);
}

const M0 = T0 - 30_000;

/** Machine-seconds of alice/img in the summary and in each time-series bucket. */
async function usage(h: Harness): Promise<{ summary: number; buckets: number[] }> {
  const q = 'start=2025-03-12T12:00:00Z&end=2025-03-12T12:05:00Z&timeframe=minute&expand=time_series,summary';
  const res = await h.get(`/v1/serverless/usage?${q}`, h.keys.adminA);
  expect(res.statusCode, res.body).toBe(200);
  const body = res.json() as {
    summary: { app: string; quantity: number }[];
    time_series: { results: { app: string; quantity: number }[] }[];
  };
  const sum = (rows: { app: string; quantity: number }[]) =>
    rows.filter((r) => r.app === 'img').reduce((a, r) => a + r.quantity, 0);
  return { summary: sum(body.summary), buckets: body.time_series.map((b) => sum(b.results)) };
}

/** Waits until the meter table holds `seconds` for the minute starting at `minute`. */
async function stored(h: Harness, minute: number, seconds: number): Promise<void> {
  await until(async () => {
    await h.stores.flush();
    const row = h.db.prepare('SELECT seconds FROM meter WHERE minute = ?').get(minute) as
      | { seconds: number }
      | undefined;
    return row?.seconds === seconds;
  });
}

describeOnBackends('GET /v1/serverless/usage with a running runner', (backend) => {
  it('includes the open minute before any metering, across a minute boundary', async () => {
    const { h, sup, dir } = await bed(backend, 3_600_000);
    await startRunner(sup, dir);
    h.clock.now = T0 + 20_000;
    expect(h.db.prepare('SELECT COUNT(*) AS n FROM meter').get()).toEqual({ n: 0 });
    expect(await usage(h)).toEqual({ summary: 20, buckets: [20, 0, 0, 0, 0] });
    expect(sup.liveMeter('bob', h.clock.now)).toEqual([]);

    h.clock.now = M0 + MINUTE_MS + 15_000;
    expect(await usage(h)).toEqual({ summary: 45, buckets: [30, 15, 0, 0, 0] });

    // Stopping meters the runner up to its end; nothing is live afterwards.
    h.clock.now += 5_000;
    await sup.close(2000);
    await h.stores.flush();
    expect(sup.liveMeter('alice', h.clock.now)).toEqual([]);
    expect(await usage(h)).toEqual({ summary: 50, buckets: [30, 20, 0, 0, 0] });
  });

  it('counts no second twice once metering has written the minutes', async () => {
    const { h, sup, dir } = await bed(backend, 20);
    await startRunner(sup, dir);
    h.clock.now = T0 + 20_000;
    await stored(h, M0, 20);
    expect(await usage(h)).toEqual({ summary: 20, buckets: [20, 0, 0, 0, 0] });

    h.clock.now = M0 + MINUTE_MS + 15_000;
    await stored(h, M0, 30);
    await stored(h, M0 + MINUTE_MS, 15);
    expect(await usage(h)).toEqual({ summary: 45, buckets: [30, 15, 0, 0, 0] });

    h.clock.now += 5_000;
    expect(await usage(h)).toEqual({ summary: 50, buckets: [30, 20, 0, 0, 0] });
  });
});
