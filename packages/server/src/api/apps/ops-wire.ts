import type { LiveRunner } from '@hangar/core';
import { Type } from 'typebox';

// Hangar's own shapes for the app operations (`hangar apps scale|set-rev|rollout|delete`, `hangar runners`).

const Str = Type.String();
const NullableStr = Type.Union([Str, Type.Null()]);
const Count = (minimum: number, maximum: number) => Type.Integer({ minimum, maximum });

const ScalingFields = {
  min_concurrency: Count(0, 1000),
  max_concurrency: Count(1, 1000),
  keep_alive: Type.Number({ minimum: 0, maximum: 31_536_000 }),
  max_multiplexing: Count(1, 1000),
};

export const ScaleBody = Type.Object(
  {
    min_concurrency: Type.Optional(ScalingFields.min_concurrency),
    max_concurrency: Type.Optional(ScalingFields.max_concurrency),
    keep_alive: Type.Optional(ScalingFields.keep_alive),
    max_multiplexing: Type.Optional(ScalingFields.max_multiplexing),
  },
  { additionalProperties: false, minProperties: 1 },
);

export const ScalingResponse = Type.Object({
  endpoint_id: Str,
  ...ScalingFields,
  /** The fields set by `scale`, over the revision's manifest. */
  overrides: Type.Object({
    min_concurrency: Type.Optional(Type.Number()),
    max_concurrency: Type.Optional(Type.Number()),
    keep_alive: Type.Optional(Type.Number()),
    max_multiplexing: Type.Optional(Type.Number()),
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

const RunnerSchema = Type.Object({
  runner_id: Str,
  revision_id: Str,
  machine_type: Str,
  state: Type.Enum(['pending', 'setup', 'idle', 'running', 'draining', 'terminated']),
  started_at: Str,
  ready_at: NullableStr,
  uptime_s: Type.Number(),
  in_flight: Type.Integer({ minimum: 0 }),
  max_multiplexing: Type.Integer({ minimum: 1 }),
  stopping: Type.Boolean(),
});

export const RunnersResponse = Type.Object({ endpoint_id: Str, runners: Type.Array(RunnerSchema) });
export const RunnerResponse = Type.Object({
  endpoint_id: Str,
  runner: Type.Union([RunnerSchema, Type.Null()]),
});

/** A live runner on the wire; uptime counts from when it became ready (0 before). */
export function toWireRunner(r: LiveRunner, now: number) {
  return {
    runner_id: r.runnerId,
    revision_id: r.revisionId,
    machine_type: r.machineType,
    state: r.state,
    started_at: new Date(r.createdAt).toISOString(),
    ready_at: r.readyAt === null ? null : new Date(r.readyAt).toISOString(),
    uptime_s: r.readyAt === null ? 0 : Math.max(0, (now - r.readyAt) / 1000),
    in_flight: r.inFlight,
    max_multiplexing: r.maxMultiplexing,
    stopping: r.stopping,
  };
}
