import { type AppReads, type Clock, PlatformError, type Principal, systemClock } from '@hangar/core';
import { type HttpApp, principalOf } from '../../http/app.js';
import type { AppOps } from '../../services/app-ops.js';
import { AppParams, requireOwnedApp } from './access.js';
import {
  DeleteAppResponse,
  DeleteRevisionResponse,
  RevisionIdBody,
  RevisionParams,
  RolloutBody,
  RolloutResponse,
  RunnerParams,
  RunnerResponse,
  RunnersResponse,
  ScaleBody,
  ScalingResponse,
  SetRevisionResponse,
  toWireRunner,
} from './ops-wire.js';

/** What the app operations routes need. */
export interface AppOpsRoutesDeps {
  appOps: AppOps;
  reads: AppReads;
  clock?: Clock;
}

/** Requests served per revision since `since` (the rollout's split, from the request records). */
export interface TrafficRow {
  revision_id: string;
  requests: number;
}

const admin = { auth: 'admin' as const };
const tags = ['App operations'];

/** Registers scale, set-rev, rollout, delete and runner operations under `/v1/serverless/apps/{owner}/{name}`. */
export function registerAppOpsRoutes(app: HttpApp, deps: AppOpsRoutesDeps): void {
  const clock = deps.clock ?? systemClock;
  const ops = deps.appOps;
  const base = '/v1/serverless/apps/:owner/:name';
  /** Tenant check first: another owner's app answers 403 whether or not it exists. */
  const owned = async (p: Principal, owner: string, name: string) => {
    await requireOwnedApp(deps.reads, p, owner, name);
    return { owner, nickname: p.owner };
  };

  app.patch(
    `${base}/scaling`,
    {
      config: admin,
      schema: {
        operationId: 'hangarScaleApp',
        tags,
        params: AppParams,
        body: ScaleBody,
        response: { 200: ScalingResponse },
      },
    },
    async (request) => {
      const { owner, name } = request.params;
      return ops.scale(owner, name, request.body, await owned(principalOf(request), owner, name));
    },
  );

  app.put(
    `${base}/revision`,
    {
      config: admin,
      schema: {
        operationId: 'hangarSetAppRevision',
        tags,
        params: AppParams,
        body: RevisionIdBody,
        response: { 200: SetRevisionResponse },
      },
    },
    async (request) => {
      const { owner, name } = request.params;
      const actor = await owned(principalOf(request), owner, name);
      return ops.setRevision(owner, name, request.body.revision_id, actor);
    },
  );

  app.get(
    `${base}/rollout`,
    {
      schema: {
        operationId: 'hangarGetAppRollout',
        tags,
        params: AppParams,
        response: { 200: RolloutResponse },
      },
    },
    async (request) => {
      const { owner, name } = request.params;
      await owned(principalOf(request), owner, name);
      const view = await ops.getRollout(owner, name);
      if (view.started_at === null) return { ...view, traffic: [] };
      const since = Date.parse(view.started_at);
      const traffic = await deps.reads.revisionTraffic({ owner, app: name, since });
      return { ...view, traffic };
    },
  );

  app.put(
    `${base}/rollout`,
    {
      config: admin,
      schema: {
        operationId: 'hangarSetAppRollout',
        tags,
        params: AppParams,
        body: RolloutBody,
        response: { 200: RolloutResponse },
      },
    },
    async (request) => {
      const { owner, name } = request.params;
      const actor = await owned(principalOf(request), owner, name);
      return ops.startRollout(owner, name, request.body.revision_id, request.body.percent, actor);
    },
  );

  app.post(
    `${base}/rollout/promote`,
    {
      config: admin,
      schema: {
        operationId: 'hangarPromoteAppRollout',
        tags,
        params: AppParams,
        response: { 200: SetRevisionResponse },
      },
    },
    async (request) => {
      const { owner, name } = request.params;
      return ops.promoteRollout(owner, name, await owned(principalOf(request), owner, name));
    },
  );

  app.delete(
    `${base}/rollout`,
    {
      config: admin,
      schema: {
        operationId: 'hangarAbortAppRollout',
        tags,
        params: AppParams,
        response: { 200: RolloutResponse },
      },
    },
    async (request) => {
      const { owner, name } = request.params;
      return ops.abortRollout(owner, name, await owned(principalOf(request), owner, name));
    },
  );

  app.delete(
    `${base}/revisions/:revision_id`,
    {
      config: admin,
      schema: {
        operationId: 'hangarDeleteAppRevision',
        tags,
        params: RevisionParams,
        response: { 200: DeleteRevisionResponse },
      },
    },
    async (request) => {
      const { owner, name, revision_id } = request.params;
      const actor = await owned(principalOf(request), owner, name);
      return ops.deleteRevision(owner, name, revision_id, actor);
    },
  );

  app.delete(
    base,
    {
      config: admin,
      schema: {
        operationId: 'hangarDeleteApp',
        tags,
        params: AppParams,
        response: { 200: DeleteAppResponse },
      },
    },
    async (request) => {
      const { owner, name } = request.params;
      return ops.deleteApp(owner, name, await owned(principalOf(request), owner, name));
    },
  );

  app.get(
    `${base}/runners`,
    {
      schema: {
        operationId: 'hangarListAppRunners',
        tags,
        params: AppParams,
        response: { 200: RunnersResponse },
      },
    },
    async (request) => {
      const { owner, name } = request.params;
      await owned(principalOf(request), owner, name);
      const now = clock();
      const runners = (await ops.listRunners(owner, name)).map((r) => toWireRunner(r, now));
      return { endpoint_id: `${owner}/${name}`, runners };
    },
  );

  app.get(
    `${base}/runners/:runner_id`,
    {
      schema: {
        operationId: 'hangarGetAppRunner',
        tags,
        params: RunnerParams,
        response: { 200: RunnerResponse },
      },
    },
    async (request) => {
      const { owner, name, runner_id } = request.params;
      await owned(principalOf(request), owner, name);
      const runner = await ops.getRunner(owner, name, runner_id);
      if (!runner)
        throw new PlatformError('RUNNER_NOT_FOUND', `Runner ${runner_id} not found in ${owner}/${name}`);
      return { endpoint_id: `${owner}/${name}`, runner: toWireRunner(runner, clock()) };
    },
  );

  for (const how of ['stop', 'kill'] as const) {
    app.post(
      `${base}/runners/:runner_id/${how}`,
      {
        config: admin,
        schema: {
          operationId: how === 'stop' ? 'hangarStopAppRunner' : 'hangarKillAppRunner',
          tags,
          params: RunnerParams,
          response: { 200: RunnerResponse },
        },
      },
      async (request) => {
        const { owner, name, runner_id } = request.params;
        const actor = await owned(principalOf(request), owner, name);
        const runner = await ops.stopRunner(owner, name, runner_id, how, actor);
        return { endpoint_id: `${owner}/${name}`, runner: runner ? toWireRunner(runner, clock()) : null };
      },
    );
  }
}
