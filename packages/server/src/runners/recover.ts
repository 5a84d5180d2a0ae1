import type { AppPool } from './app-pool.js';
import type { SupervisorContext } from './context.js';
import { closingMeterRows } from './metering.js';

/**
 * Cleans up after a previous server process of this node. Runners the driver finds by this node's
 * label that are not ours are removed (their process group killed, their Pod deleted). Runners the
 * registry still lists as alive are closed: their machine time was metered up to `meteredUntil`
 * (rows are written before that mark is advanced), so metering ends there and no minute is rewritten.
 * With a registry shared by a cluster, only rows of this node id are this node's to close, and when the
 * earlier incarnation's last heartbeat is known (`previousEnd`) they end there, with their metering closed
 * there, exactly as the leader closes a dead node's runners: the process may have lived past its last
 * metering, and whichever of the two closes a runner last writes the same end and the same rows.
 */
export async function recoverOrphans(
  ctx: SupervisorContext,
  pools: Map<string, AppPool>,
  previousEnd: number | null = null,
): Promise<void> {
  const { deps } = ctx;
  const ours = new Set<string>();
  for (const pool of pools.values()) for (const r of pool.runners) ours.add(r.id);
  const node = deps.nodeId ?? 'local';
  let found: Awaited<ReturnType<typeof deps.driver.discover>> = [];
  try {
    found = await deps.driver.discover(node);
  } catch (err) {
    deps.logger.warn({ err, node }, 'could not list runners left by an earlier server process');
  }
  for (const orphan of found) {
    if (ours.has(orphan.labels.runnerId)) continue;
    try {
      await deps.driver.remove(orphan.ref);
    } catch (err) {
      deps.logger.warn(
        { err, runnerId: orphan.labels.runnerId, ref: orphan.ref },
        'could not remove orphaned runner',
      );
    }
  }
  const rows = await deps.stores.runners.listLiveRunners();
  for (const row of rows) {
    if (ours.has(row.runnerId)) continue;
    if (deps.sharedRegistry && row.nodeId !== node) continue;
    if (previousEnd === null) {
      deps.stores.runners.upsertRunner({ ...row, state: 'terminated', endedAt: row.meteredUntil });
    } else {
      // The leader ends a dead node's runners the same way: whichever writes last, one end and one metering.
      const endedAt = Math.max(row.startedAt, previousEnd);
      deps.stores.meter.record(closingMeterRows(row, endedAt));
      deps.stores.runners.upsertRunner({ ...row, state: 'terminated', endedAt, meteredUntil: endedAt });
    }
    ctx.event(row.owner, row.app, 'runner_failed', {
      job_id: row.runnerId,
      machine_type: row.machineType,
      state: 'terminated',
      reason: 'orphaned by a server restart; removed',
    });
  }
}
