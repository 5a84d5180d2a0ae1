import { type LiveRunner, RUNNER_STATES, type RunnerState } from '@hangar/core';
import { Type } from 'typebox';

// Hangar's own shapes for the app operations (`hangar apps scale|set-rev|rollout|delete`, `hangar runners`).

const Str = Type.String();
const NullableStr = Type.Union([Str, Type.Null()]);
const Count = (minimum: number, maximum: number) => Type.Integer({ minimum, maximum });

const YEAR_S = 31_536_000;
const ScalingFields = {
  min_concurrency: Count(0, 1000),
  max_concurrency: Count(1, 1000),
  keep_alive: Type.Number({ minimum: 0, maximum: YEAR_S }),
  max_multiplexing: Count(1, 1000),
  scaling_delay: Type.Number({ minimum: 0, maximum: 86_400 }),
  concurrency_buffer: Count(0, 1000),
  startup_timeout: Type.Number({ exclusiveMinimum: 0, maximum: 86_400 }),
};
const S = ScalingFields;

export const ScaleBody = Type.Object(
  {
    min_concurrency: Type.Optional(S.min_concurrency),
    max_concurrency: Type.Optional(S.max_concurrency),
    keep_alive: Type.Optional(S.keep_alive),
    max_multiplexing: Type.Optional(S.max_multiplexing),
    scaling_delay: Type.Optional(S.scaling_delay),
    concurrency_buffer: Type.Optional(S.concurrency_buffer),
    startup_timeout: Type.Optional(S.startup_timeout),
  },
  { additionalProperties: false, minProperties: 1 },
);

const N = Type.Optional(Type.Number());
export const ScalingResponse = Type.Object({
  endpoint_id: Str,
  ...ScalingFields,
  /** The fields set by `scale`, over the revision's manifest. */
  overrides: Type.Object({
    min_concurrency: N,
    max_concurrency: N,
    keep_alive: N,
    max_multiplexing: N,
    scaling_delay: N,
    concurrency_buffer: N,
    startup_timeout: N,
  }),
});

export const RevisionIdBody = Type.Object(
  { revision_id: Type.String({ minLength: 1, maxLength: 200 }) },
  { additionalProperties: false },
);

export const SetRevisionResponse = Type.Object({
  endpoint_id: Str,
  revision_id: Str,
  previous_revision_id: Str,
  draining_runners: Type.Array(Str),
});

export const RolloutBody = Type.Object(
  {
    revision_id: Type.String({ minLength: 1, maxLength: 200 }),
    percent: Type.Integer({ minimum: 1, maximum: 99 }),
  },
  { additionalProperties: false },
);

export const RolloutResponse = Type.Object({
  endpoint_id: Str,
  current_revision_id: Str,
  revision_id: NullableStr,
  percent: Type.Number(),
  started_at: NullableStr,
  traffic: Type.Optional(
    Type.Array(Type.Object({ revision_id: Str, requests: Type.Integer({ minimum: 0 }) })),
  ),
});

export const DeleteRevisionResponse = Type.Object({
  endpoint_id: Str,
  revision_id: Str,
  deleted: Type.Boolean(),
});

export const DeleteAppResponse = Type.Object({
  endpoint_id: Str,
  deleted: Type.Boolean(),
  cancelled_requests: Type.Integer({ minimum: 0 }),
  draining_runners: Type.Array(Str),
});

export const RunnerParams = Type.Object({ owner: Str, name: Str, runner_id: Str });
export const RevisionParams = Type.Object({ owner: Str, name: Str, revision_id: Str });

const StateSchema = Type.Enum(RUNNER_STATES as RunnerState[]);
const RunnerSchema = Type.Object({
  runner_id: Str,
  revision_id: Str,
  machine_type: Str,
  state: StateSchema,
  /** When the runner entered `state`, and the seconds it has been in it. */
  state_since: Str,
  state_seconds: Type.Number(),
  /** Seconds per state over the runner's life so far, the current state included. */
  time_in_states: Type.Record(Str, Type.Number()),
  /** Lifecycle transitions, oldest first (idle ↔ running flips are in the totals only). */
  timeline: Type.Array(Type.Object({ state: StateSchema, at: Str })),
  started_at: Str,
  ready_at: NullableStr,
  ended_at: NullableStr,
  uptime_s: Type.Number(),
  in_flight: Type.Integer({ minimum: 0 }),
  max_multiplexing: Type.Integer({ minimum: 1 }),
  stopping: Type.Boolean(),
  /** Its GPUs' sampled usage: the last sample, the peak memory and the mean utilisation (empty: none). */
  gpus: Type.Array(
    Type.Object({
      uuid: Str,
      samples: Type.Integer({ minimum: 0 }),
      sampled_at: Str,
      memory_used_mb: Type.Number(),
      memory_peak_mb: Type.Number(),
      utilization_pct: Type.Number(),
      utilization_avg_pct: Type.Number(),
    }),
  ),
});

export const RunnersResponse = Type.Object({ endpoint_id: Str, runners: Type.Array(RunnerSchema) });
export const RunnerResponse = Type.Object({
  endpoint_id: Str,
  runner: Type.Union([RunnerSchema, Type.Null()]),
});

const iso = (ms: number) => new Date(ms).toISOString();
const round3 = (s: number) => Math.round(s * 1000) / 1000;

/**
 * A runner on the wire; uptime counts from when it became ready (0 before) until now or its end. A
 * terminated runner's time in `terminated` is 0: it is a final state.
 */
export function toWireRunner(r: LiveRunner, now: number) {
  const ended = r.endedAt ?? null;
  const inState = r.state === 'terminated' ? 0 : Math.max(0, now - r.stateSince) / 1000;
  const time: Record<string, number> = { ...r.times.seconds };
  if (inState > 0) time[r.state] = round3((time[r.state] ?? 0) + inState);
  const until = ended ?? now;
  return {
    runner_id: r.runnerId,
    revision_id: r.revisionId,
    machine_type: r.machineType,
    state: r.state,
    state_since: iso(r.stateSince),
    state_seconds: round3(inState),
    time_in_states: time,
    timeline: r.times.timeline.map((t) => ({ state: t.state, at: iso(t.at) })),
    started_at: iso(r.createdAt),
    ready_at: r.readyAt === null ? null : iso(r.readyAt),
    ended_at: ended === null ? null : iso(ended),
    uptime_s: r.readyAt === null ? 0 : Math.max(0, (until - r.readyAt) / 1000),
    in_flight: r.inFlight,
    max_multiplexing: r.maxMultiplexing,
    stopping: r.stopping,
    gpus: (r.gpus ?? []).map((g) => ({
      uuid: g.uuid,
      samples: g.samples,
      sampled_at: iso(g.lastAt),
      memory_used_mb: g.memoryUsedMb,
      memory_peak_mb: g.memoryPeakMb,
      utilization_pct: g.utilizationPct,
      utilization_avg_pct: Math.round(g.utilizationAvgPct * 10) / 10,
    })),
  };
}
