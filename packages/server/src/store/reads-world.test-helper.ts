// One deterministic world written through the write ports of any engine: the world every engine's reads
// are compared with the SQLite reads over (reads-parity.test-helper.ts).
import { HOUR_MS, MINUTE_MS, type PlatformReads, type RollupRow, type Stores } from '@hangar/core';
import { RequestRollup } from '../telemetry/request-rollup.js';
import { logFixture, manifestFixture, requestFixture, revisionFixture, runnerFixture } from './fixtures.js';
import { createSqliteReads, type SqliteReads } from './sqlite/reads/index.js';

/** Start of the seeded world (a Thursday, UTC). */
export const T0 = Date.UTC(2026, 0, 1);
/** Days the seeded world spans. */
export const DAYS = 10;
/** End of the seeded world. */
export const END = T0 + DAYS * 24 * HOUR_MS;
const ENDPOINTS = ['acme/echo', 'acme/echo/fast', 'acme/echoes', 'acme/other', 'beta/echo'];
const WORDS = ['alpha', 'Bravo', 'charlie', 'delta_9', '50%off', 'error', 'ÉCLAIR', 'zeta', 'back\\slash'];

function prng(seed: number): () => number {
  let s = seed >>> 0;
  return () => {
    s = (s + 0x6d2b79f5) >>> 0;
    let t = s;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** Writes the world through the write ports of `s` (any engine); returns the rollup rows it recorded. */
export async function writeWorld(s: Stores): Promise<RollupRow[]> {
  const rnd = prng(42);
  const pick = <T>(xs: readonly T[]) => xs[Math.floor(rnd() * xs.length)]!;
  for (const [owner, app] of [
    ['acme', 'echo'],
    ['acme', 'echoes'],
    ['acme', 'other'],
    ['beta', 'echo'],
  ] as const) {
    await s.keys.ensureOwner(owner);
    for (let r = 0; r < 3; r++) {
      const env = app === 'other' ? 'staging' : 'main';
      await s.apps.putRevision(
        revisionFixture(`${owner}-${app}-r${r}`, owner, app, T0 + r * HOUR_MS, {
          manifest: manifestFixture(app, { environment: env }),
          annotations: r === 1 ? { note: 'second' } : null,
          message: `deploy ${r}`,
        }),
      );
      s.runners.upsertRunner(
        runnerFixture(`${owner}-${app}-run${r}`, { owner, app, revisionId: `${owner}-${app}-r${r}` }),
      );
    }
    await s.apps.setCurrentRevision(owner, app, `${owner}-${app}-r1`, T0 + 5 * HOUR_MS);
  }
  await s.apps.putSettings('acme', 'echo', {
    scaling: { min_concurrency: 2, keep_alive: 30 },
    rollout: null,
  });
  const rollup = new RequestRollup();
  for (let i = 0; i < 600; i++) {
    const endpointId = pick(ENDPOINTS);
    const [owner, app] = endpointId.split('/') as [string, string];
    const sentAt = T0 + Math.floor(rnd() * DAYS * 24 * 60) * MINUTE_MS + Math.floor(rnd() * 3) * 7;
    const id = `req-${String(i).padStart(4, '0')}`;
    await s.requests.insert(
      requestFixture(id, { owner, app, endpointId, sentAt, jsonInput: { i, text: pick(WORDS) } }),
      Buffer.from('{}'),
    );
    if (i % 17 === 0) continue; // in flight
    const prepareMs = Math.floor(rnd() * 3000);
    // Shared end instants (a few per minute) so ties on ended_at and duration exercise the id tie-break.
    const durationMs = i % 5 === 0 ? 1000 : Math.floor(rnd() * 20_000);
    const patch = {
      status: 'COMPLETED' as const,
      startedAt: sentAt + prepareMs,
      endedAt: sentAt + prepareMs + durationMs,
      statusCode: pick([200, 200, 200, 201, 404, 422, 500, 503]),
      prepareMs,
      durationMs,
      runnerId: `${owner}-${app}-run${i % 3}`,
      coldStart: i % 4 === 0,
      coldBootMs: i % 4 === 0 ? 500 + Math.floor(rnd() * 4000) : null,
      billableUnits: i % 7 === 0 ? null : durationMs / 1000,
      errorClass: i % 9 === 0 ? ('runtime' as const) : null,
      jsonOutput: { ok: i },
    };
    s.requests.complete(id, patch, null, T0 + 365 * 24 * HOUR_MS);
    rollup.observe({ ...requestFixture(id, { endpointId }), ...patch });
  }
  const lines = [];
  for (let i = 0; i < 3000; i++) {
    const owner = i % 10 === 0 ? 'beta' : 'acme';
    const ts = T0 + Math.floor(rnd() * DAYS * 24 * 60) * MINUTE_MS + (i % 3);
    const line = logFixture(
      `req-${String(i % 600).padStart(4, '0')}`,
      `${pick(WORDS)} ${pick(WORDS)} line ${i}`,
      ts,
    );
    line.owner = owner;
    line.app = pick(['echo', 'other']);
    line.level = pick(['debug', 'info', 'warn', 'error']);
    if (i % 11 === 0) line.labels.traceback = 'true';
    if (i % 13 === 0) line.labels.run_source = 'grpc-run';
    if (i % 6 === 0) line.labels.source = 'gateway';
    if (i % 4 === 0) line.labels.zone = pick(['eu', 'us', 'ap']);
    lines.push(line);
  }
  // Appended in time order (the server stamps lines as it receives them), in a few batches; lines of the
  // same millisecond keep their order of arrival.
  lines.sort((a, b) => a.ts - b.ts);
  for (let b = 0; b < 6; b++) s.logs.append(lines.slice(b * 500, (b + 1) * 500));
  for (let i = 0; i < 80; i++) {
    const app = pick(['echo', 'other']);
    s.events.append({
      eventId: `ev-${String(i).padStart(3, '0')}`,
      owner: 'acme',
      app,
      category: pick(['runner_started', 'runner_finished', 'config_changed'] as const),
      createdAt: T0 + Math.floor(i / 2) * HOUR_MS,
      payload: { i },
    });
  }
  const samples = [];
  for (let t = T0; t < T0 + 2 * 24 * HOUR_MS; t += 5 * MINUTE_MS) {
    samples.push({
      ts: t,
      owner: 'acme',
      app: 'echo',
      pending: 1,
      setup: t % 3,
      idle: 2,
      running: (t / MINUTE_MS) % 7,
      draining: 0,
    });
  }
  s.samples.append(samples);
  const meter = [];
  for (let m = 0; m < DAYS * 24 * 60; m += 7) {
    const app = pick(['echo', 'echoes', 'other']);
    meter.push({
      runnerId: `acme-${app}-run${m % 3}`,
      minute: T0 + m * MINUTE_MS,
      owner: 'acme',
      app,
      environment: app === 'other' ? 'staging' : 'main',
      machineType: pick(['GPU-H100', 'GPU-A100', 'CPU']),
      isSurge: m % 5 === 0,
      seconds: Math.floor(rnd() * 240) / 4,
    });
  }
  s.meter.record(meter);
  const rows = rollup.drain();
  s.rollups.record(rows);
  await s.flush();
  return rows;
}

/** Every Platform API read on the SQLite file `dbPath`, run on the calling thread: the reference. */
export function sqliteReads(dbPath: string): SqliteReads {
  return createSqliteReads({ dbPath, size: 0 });
}

/** The two engines' reads over the world, filled in by the time the tests run. */
export interface ParityWorld {
  reads: PlatformReads;
  /** The reference. */
  sqlite: PlatformReads;
}
