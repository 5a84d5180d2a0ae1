import type { MeterRecord, RunnerSample } from '@hangar/core';
import type { AppPool } from './app-pool.js';
import type { SupervisorContext } from './context.js';

/** The supervisor's periodic work, and a way to run all of it once more at shutdown. */
export interface SupervisorTimers {
  stop(): void;
  /** Writes machine time, a state sample and buffered logs now. */
  flushAll(): void;
}

/**
 * Starts three loops: the housekeeping tick (health, timeouts, scaling, log batches), metering and
 * state sampling. Each loop catches its own errors so a failing store never takes the server down.
 */
export function startTimers(ctx: SupervisorContext, pools: Map<string, AppPool>): SupervisorTimers {
  const { deps } = ctx;
  const guard = (name: string, fn: () => void) => () => {
    try {
      fn();
    } catch (err) {
      deps.logger.error({ err }, `runner supervisor ${name} failed`);
    }
  };
  ctx.logs.onFlushError = (err) => deps.logger.error({ err }, 'runner supervisor log flush failed');
  const tick = guard('tick', () => {
    const now = deps.clock();
    for (const pool of pools.values()) pool.tick(now);
    ctx.logs.flush();
  });
  const meter = guard('metering', () => meterAll(ctx, pools));
  const sample = guard('sampling', () => sampleAll(ctx, pools));
  const handles = [
    setInterval(tick, deps.healthIntervalMs ?? 100),
    setInterval(meter, deps.meterIntervalMs ?? 5000),
    setInterval(sample, deps.sampleIntervalMs ?? 5000),
  ];
  for (const h of handles) h.unref();
  return {
    stop() {
      for (const h of handles) clearInterval(h);
    },
    flushAll() {
      meter();
      sample();
      guard('log flush', () => ctx.logs.flush())();
    },
  };
}

/** Rewrites the current minute of every metered runner and records how far it was metered. */
function meterAll(ctx: SupervisorContext, pools: Map<string, AppPool>): void {
  const now = ctx.deps.clock();
  const rows: MeterRecord[] = [];
  const metered = [];
  for (const pool of pools.values()) {
    for (const runner of pool.runners) {
      if (runner.meter.setupAt === null || runner.state === 'terminated') continue;
      for (const row of runner.takeMeterRows(now)) rows.push(row);
      metered.push(runner);
    }
  }
  // Rows first: a restarted server trusts `meteredUntil` as already written.
  if (rows.length > 0) ctx.deps.stores.meter.record(rows);
  for (const runner of metered) runner.record();
}

function sampleAll(ctx: SupervisorContext, pools: Map<string, AppPool>): void {
  if (pools.size === 0) return;
  const now = ctx.deps.clock();
  const samples: RunnerSample[] = [];
  for (const pool of pools.values()) {
    samples.push(pool.sample(now));
    for (const runner of pool.runners) runner.sampleGpus();
  }
  ctx.deps.stores.samples.append(samples);
}
