import type { HttpTransport } from '../http.js';
import { encodePath } from '../paging.js';

/** Scaling settings `scale` changes without a redeploy. */
export interface ScalingInput {
  min_concurrency?: number;
  max_concurrency?: number;
  keep_alive?: number;
  max_multiplexing?: number;
  /** Seconds the queue must stay above capacity before runners are started for it (fal's `scaling_delay`). */
  scaling_delay?: number;
  /** Runners kept warm above those the requests in flight use (fal's `concurrency_buffer`). */
  concurrency_buffer?: number;
  /** Seconds a runner may spend in SETUP before it is killed and replaced. */
  startup_timeout?: number;
}

/** The app's scaling after `scale`: effective values plus the overrides set so far. */
export interface ScalingResult extends Required<ScalingInput> {
  endpoint_id: string;
  overrides: ScalingInput;
}

/** The answer to a revision switch (also to a promoted rollout). */
export interface SetRevisionResult {
  endpoint_id: string;
  revision_id: string;
  previous_revision_id: string;
  /** Runners of other revisions, draining (finishing their in-flight work). */
  draining_runners: string[];
}

/** A rollout's state; `revision_id` is null when none is in progress. */
export interface RolloutState {
  endpoint_id: string;
  current_revision_id: string;
  revision_id: string | null;
  percent: number;
  started_at: string | null;
  /** Requests started since the rollout began, by the revision that served them (GET only). */
  traffic?: { revision_id: string; requests: number }[];
}

/** fal's runner states, in lowercase. */
export type RunnerStateName =
  | 'pending'
  | 'docker_pull'
  | 'setup'
  | 'idle'
  | 'running'
  | 'draining'
  | 'terminating'
  | 'terminated';

/** A runner (live, or read back from the registry once ended). */
export interface LiveRunnerInfo {
  runner_id: string;
  revision_id: string;
  machine_type: string;
  state: RunnerStateName;
  /** When it entered `state`, and the seconds since (0 once terminated). */
  state_since: string;
  state_seconds: number;
  /** Seconds per state over its life, the current state included. */
  time_in_states: Partial<Record<RunnerStateName, number>>;
  /** Lifecycle transitions, oldest first (idle ↔ running flips are only in the totals). */
  timeline: { state: RunnerStateName; at: string }[];
  started_at: string;
  ready_at: string | null;
  ended_at: string | null;
  uptime_s: number;
  in_flight: number;
  max_multiplexing: number;
  stopping: boolean;
}

function appPath(appId: string, rest: string): string {
  const [owner = '', name = ''] = appId.replace(/^\/+/, '').split('/');
  return `/v1/serverless/apps/${encodePath(owner)}/${encodePath(name)}${rest}`;
}

/** App operations (ADMIN key for changes): scale, revisions, rollouts, deletes and runners. */
export function createAppOps(http: HttpTransport) {
  return {
    /** Changes scaling on the live pool; persisted across restarts. */
    scale: (appId: string, input: ScalingInput) =>
      http.json<ScalingResult>('PATCH', appPath(appId, '/scaling'), { body: input }),
    /** Switches the app to one of its revisions (rollback or forward); old runners drain. */
    setRevision: (appId: string, revisionId: string) =>
      http.json<SetRevisionResult>('PUT', appPath(appId, '/revision'), { body: { revision_id: revisionId } }),
    /** The rollout in progress and its traffic split. */
    rollout: (appId: string) => http.json<RolloutState>('GET', appPath(appId, '/rollout')),
    /** Starts a rollout to `revisionId` or changes its share (1–99 %). */
    startRollout: (appId: string, revisionId: string, percent: number) =>
      http.json<RolloutState>('PUT', appPath(appId, '/rollout'), {
        body: { revision_id: revisionId, percent },
      }),
    /** Makes the rollout's revision the current one. */
    promoteRollout: (appId: string) =>
      http.json<SetRevisionResult>('POST', appPath(appId, '/rollout/promote')),
    /** Ends the rollout; all traffic returns to the current revision. */
    abortRollout: (appId: string) => http.json<RolloutState>('DELETE', appPath(appId, '/rollout')),
    /** Deletes a revision that serves no traffic (its bundle is kept). */
    deleteRevision: (appId: string, revisionId: string) =>
      http.json<{ endpoint_id: string; revision_id: string; deleted: boolean }>(
        'DELETE',
        appPath(appId, `/revisions/${encodePath(revisionId)}`),
      ),
    /** Deletes the app: queued requests are answered with an error, runners drain, files and bundles stay. */
    deleteApp: (appId: string) =>
      http.json<{
        endpoint_id: string;
        deleted: boolean;
        cancelled_requests: number;
        draining_runners: string[];
      }>('DELETE', appPath(appId, '')),
    /** The app's live runners. */
    runners: (appId: string) =>
      http.json<{ endpoint_id: string; runners: LiveRunnerInfo[] }>('GET', appPath(appId, '/runners')),
    /** Drains a runner (`kill`: ends it now; its in-flight requests follow the retry rules). */
    /** One runner, live or ended, with its timeline. */
    runner: (appId: string, runnerId: string) =>
      http.json<{ endpoint_id: string; runner: LiveRunnerInfo }>(
        'GET',
        appPath(appId, `/runners/${encodePath(runnerId)}`),
      ),
    stopRunner: (appId: string, runnerId: string, how: 'stop' | 'kill' = 'stop') =>
      http.json<{ endpoint_id: string; runner: LiveRunnerInfo | null }>(
        'POST',
        appPath(appId, `/runners/${encodePath(runnerId)}/${how}`),
      ),
  };
}
