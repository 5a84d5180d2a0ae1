import { falRunnerState, type RunnerRow, type RunnerState } from '@hangar/core';
import type { Runner } from './runner.js';

/** The registry row of `runner` as of now. */
export function runnerRow(runner: Runner): RunnerRow {
  const { meter, clock, gpus } = runner;
  return {
    runnerId: runner.id,
    owner: runner.owner,
    app: runner.app,
    revisionId: runner.revisionId,
    machineType: runner.machineType,
    ref: runner.handle?.ref || null,
    state: runner.state,
    startedAt: meter.setupAt ?? runner.createdAt,
    endedAt: runner.endedAt,
    meteredUntil: meter.meteredUntil || runner.createdAt,
    stateSince: clock.since,
    times: { seconds: { ...clock.times.seconds }, timeline: [...clock.times.timeline] },
    ...(gpus.history.length > 0 ? { gpus: gpus.history.map((g) => ({ ...g })) } : {}),
    nodeId: runner.nodeId,
    environment: runner.manifest.environment,
    isSurge: runner.isSurge,
  };
}

/**
 * The payload of a runner event. `state` is fal's name of the state entered; `previous_state` and
 * `previous_state_seconds` (Hangar's, kept in the stored payload) say how long the one left lasted.
 */
export function runnerEventPayload(
  runner: Runner,
  reason?: string,
  left?: { from: RunnerState; seconds: number },
): Record<string, unknown> {
  const payload: Record<string, unknown> = {
    job_id: runner.id,
    machine_type: runner.machineType,
    state: falRunnerState(runner.state),
  };
  if (reason !== undefined) payload.reason = reason;
  if (left !== undefined) {
    payload.previous_state = falRunnerState(left.from);
    payload.previous_state_seconds = Math.round(left.seconds * 1000) / 1000;
  }
  return payload;
}
