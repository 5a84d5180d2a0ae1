import type { RunnerRow } from '@hangar/core';

// The `runners` row of the registry, mapped once for every engine: SQLite and PostgreSQL keep the same
// columns, and differ only in how `is_surge` is typed (INTEGER 0/1 there, BOOLEAN here).

/** Columns of `runners` in the order `runnerValues` gives them. */
export const RUNNER_COLUMNS =
  'runner_id, owner, app, revision_id, machine_type, pid, state, started_at, ended_at, metered_until, ' +
  'state_since, state_times, gpu_usage, node_id, environment, is_surge';

/** The values of a registry row in `RUNNER_COLUMNS` order; `surge` types the surge flag for the engine. */
export function runnerValues(r: RunnerRow, surge: (isSurge: boolean) => unknown): unknown[] {
  return [
    r.runnerId,
    r.owner,
    r.app,
    r.revisionId,
    r.machineType,
    r.ref,
    r.state,
    r.startedAt,
    r.endedAt,
    r.meteredUntil,
    r.stateSince,
    JSON.stringify(r.times),
    r.gpus?.length ? JSON.stringify(r.gpus) : null,
    r.nodeId ?? null,
    r.environment ?? null,
    r.isSurge === undefined ? null : surge(r.isSurge),
  ];
}

/** Maps a `runners` row to the registry row. */
export function rowToRunnerRow(r: Record<string, unknown>): RunnerRow {
  return {
    runnerId: r.runner_id as string,
    owner: r.owner as string,
    app: r.app as string,
    revisionId: r.revision_id as string,
    machineType: r.machine_type as string,
    // The `pid` column holds the driver's ref (a pid, a Pod name): SQLite gives back numbers for digits.
    ref: r.pid === null || r.pid === undefined ? null : String(r.pid),
    state: r.state as string,
    startedAt: r.started_at as number,
    endedAt: r.ended_at as number | null,
    meteredUntil: r.metered_until as number,
    // Rows written before state times were recorded: the state since it started, nothing accounted.
    stateSince: (r.state_since as number | null) ?? (r.started_at as number),
    times: r.state_times ? JSON.parse(r.state_times as string) : { seconds: {}, timeline: [] },
    ...(r.gpu_usage ? { gpus: JSON.parse(r.gpu_usage as string) } : {}),
    ...(r.node_id ? { nodeId: r.node_id as string } : {}),
    ...(r.environment ? { environment: r.environment as string } : {}),
    // SQLite's INTEGER 0/1, PostgreSQL's BOOLEAN.
    ...(r.is_surge === null || r.is_surge === undefined
      ? {}
      : { isSurge: r.is_surge === 1 || r.is_surge === true }),
  };
}
