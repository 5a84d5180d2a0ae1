import { PlatformError } from '@hangar/core';
import { Type } from 'typebox';
import type { NodesView } from '../../cluster/node-view.js';
import type { ReadinessCheck } from '../../cluster/readiness.js';
import { failingChecks } from '../../cluster/readiness.js';
import { type HttpApp, principalOf } from '../../http/app.js';

/** Dependencies of the node routes. */
export interface NodeRoutesDeps {
  /** This node's id, answered by the health endpoints. */
  nodeId: string;
  view: () => Promise<NodesView>;
  readiness: readonly ReadinessCheck[];
  /** The operator's owner (`HANGAR_OWNER`): only its ADMIN keys see the nodes. */
  operatorOwner: string;
  /** Seconds a client should wait before asking `/readyz` again. */
  retryAfterS: number;
}

const NullableDate = Type.Union([Type.String({ format: 'date-time' }), Type.Null()]);

const NodeRunner = Type.Object({
  runner_id: Type.String(),
  owner: Type.String(),
  app: Type.String(),
  machine_type: Type.String(),
  state: Type.String(),
  started_at: Type.String({ format: 'date-time' }),
});

const Node = Type.Object({
  node_id: Type.String(),
  host: Type.String(),
  url: Type.String(),
  version: Type.String(),
  status: Type.Enum(['alive', 'late', 'draining', 'dead']),
  is_leader: Type.Boolean(),
  started_at: Type.String({ format: 'date-time' }),
  last_heartbeat: Type.String({ format: 'date-time' }),
  heartbeat_age_ms: Type.Integer({ minimum: 0 }),
  dead_at: NullableDate,
  capacity: Type.Object({
    machine_types: Type.Array(Type.String()),
    runner_slots: Type.Integer({ minimum: 0 }),
    gpus: Type.Integer({ minimum: 0 }),
    free_gpus: Type.Integer({ minimum: 0 }),
  }),
  runner_count: Type.Integer({ minimum: 0 }),
  runners: Type.Array(NodeRunner),
  targets: Type.Record(Type.String(), Type.Integer({ minimum: 0 })),
});

const NodesReply = Type.Object({
  mode: Type.Enum(['embedded', 'cluster']),
  leader: Type.Union([Type.Object({ node_id: Type.String(), token: Type.Integer() }), Type.Null()]),
  nodes: Type.Array(Node),
});

const Health = Type.Object({ status: Type.String(), node_id: Type.String() });

/** Registers `/healthz` (the process answers), `/readyz` (this node can serve) and `/v1/nodes`. */
export function registerNodeRoutes(app: HttpApp, deps: NodeRoutesDeps): void {
  app.get(
    '/healthz',
    {
      config: { auth: 'none' },
      schema: { operationId: 'hangarHealth', tags: ['Nodes'], response: { 200: Health } },
    },
    async () => ({ status: 'ok', node_id: deps.nodeId }),
  );

  app.get(
    '/readyz',
    {
      config: { auth: 'none' },
      schema: { operationId: 'hangarReady', tags: ['Nodes'], response: { 200: Health } },
    },
    async () => {
      const failing = await failingChecks(deps.readiness);
      if (failing.length > 0) {
        throw new PlatformError(
          'NODE_NOT_READY',
          `Node ${deps.nodeId} is not ready: ${failing.join(', ')} failing`,
          {
            'retry-after': String(deps.retryAfterS),
          },
        );
      }
      return { status: 'ready', node_id: deps.nodeId };
    },
  );

  app.get(
    '/v1/nodes',
    {
      config: { auth: 'admin' },
      schema: { operationId: 'hangarListNodes', tags: ['Nodes'], response: { 200: NodesReply } },
    },
    async (request) => {
      if (principalOf(request).owner !== deps.operatorOwner) {
        throw new PlatformError(
          'AUTH_FORBIDDEN',
          "The node view is the operator's: use an ADMIN key of its owner",
        );
      }
      return deps.view();
    },
  );
}
