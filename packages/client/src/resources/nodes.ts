import type { HttpTransport } from '../http.js';

/** A runner as the node view lists it. */
export interface NodeRunnerInfo {
  runner_id: string;
  owner: string;
  app: string;
  machine_type: string;
  state: string;
  started_at: string;
}

/** One node of the cluster (the embedded server is one node, its own leader). */
export interface NodeInfo {
  node_id: string;
  host: string;
  url: string;
  version: string;
  /** `alive`, `late` (heartbeat overdue, not yet declared dead), `draining` or `dead`. */
  status: 'alive' | 'late' | 'draining' | 'dead';
  is_leader: boolean;
  started_at: string;
  last_heartbeat: string;
  heartbeat_age_ms: number;
  dead_at: string | null;
  capacity: { machine_types: string[]; runner_slots: number; gpus: number; free_gpus: number };
  runner_count: number;
  runners: NodeRunnerInfo[];
  /** `owner/app` → request slots the leader placed on this node. */
  targets: Record<string, number>;
}

/** `GET /v1/nodes`: the operator's view of the cluster. */
export interface NodesView {
  mode: 'embedded' | 'cluster';
  leader: { node_id: string; token: number } | null;
  nodes: NodeInfo[];
}

/** `/v1/nodes` (an ADMIN key of the operator's owner). */
export function createNodes(http: HttpTransport) {
  return {
    list: () => http.json<NodesView>('GET', '/v1/nodes'),
  };
}
