import type { AppPool } from './app-pool.js';
import type { SupervisorContext } from './context.js';

/**
 * Kills runners the registry still lists as alive from a previous server process and closes their
 * records. Their machine time was metered up to `meteredUntil` (rows are written before that mark is
 * advanced), so metering ends there and no minute is rewritten.
 */
export async function recoverOrphans(ctx: SupervisorContext, pools: Map<string, AppPool>): Promise<void> {
  const { deps } = ctx;
  const ours = new Set<string>();
  for (const pool of pools.values()) for (const r of pool.runners) ours.add(r.id);
  const rows = await deps.stores.runners.listLiveRunners();
  for (const row of rows) {
    if (ours.has(row.runnerId)) continue;
    if (row.pid !== null) {
      try {
        await deps.driver.reap(row.pid);
      } catch (err) {
        deps.logger.warn({ err, runnerId: row.runnerId, pid: row.pid }, 'could not reap orphaned runner');
      }
    }
    deps.stores.runners.upsertRunner({ ...row, state: 'terminated', endedAt: row.meteredUntil });
    ctx.event(row.owner, row.app, 'runner_failed', {
      job_id: row.runnerId,
      machine_type: row.machineType,
      state: 'terminated',
      reason: 'orphaned by a server restart; reaped',
    });
  }
}
