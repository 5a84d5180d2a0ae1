import {
  type App,
  PlatformError,
  type RequestRecord,
  type RequestStore,
  StoreUnavailable,
  type UnfinishedFilter,
} from '@hangar/core';
import type { GatewayContext } from './context.js';
import type { LiveRequest } from './live.js';

/** Status recorded for a sync call cut off by a server crash: its caller's connection is gone. */
const ABANDONED_SYNC_STATUS = 502;

/**
 * Resumes every request accepted before a restart: queued and in-progress ones run again (their
 * attempt count carried on), re-read with `getInput`. Sync calls cannot be answered any more and are
 * closed as connection errors. Records are updated by request id, so nothing is recorded twice. An input
 * kept in an object storage that is unreachable is read again later: the request waits in the queue.
 * `filter` scopes it to one node's requests on a database a cluster shares.
 */
export async function recoverRequests(ctx: GatewayContext, filter?: UnfinishedFilter): Promise<number> {
  const { requests } = ctx.deps;
  const unfinished = await requests.listUnfinished(filter);
  let resumed = 0;
  for (const rec of unfinished) {
    if (ctx.live.get(rec.requestId)) continue;
    if (rec.mode === 'sync') {
      closeAbandonedSync(ctx, rec);
      continue;
    }
    await resumeQueued(ctx, rec);
    resumed++;
  }
  return resumed;
}

async function resumeQueued(ctx: GatewayContext, stored: RequestRecord): Promise<void> {
  const rec: RequestRecord = { ...stored, status: 'IN_QUEUE' };
  const entry = ctx.live.add(rec, rec.owner);
  const app = await ctx.deps.apps.getApp(rec.owner, rec.app);
  if (!app) {
    ctx.exec.fail(
      entry,
      new PlatformError('APP_NOT_FOUND', `App ${rec.owner}/${rec.app} not found`),
      rec.attempts,
    );
    return;
  }
  await startWithInput(ctx, entry, app);
}

/** Reads the request's input and starts it; while the object storage is down, tries again later. */
async function startWithInput(ctx: GatewayContext, entry: LiveRequest, app: App): Promise<void> {
  const rec = entry.rec;
  let input: Buffer | null;
  try {
    input = await ctx.deps.requests.getInput(rec.requestId);
  } catch (err) {
    if (!(err instanceof StoreUnavailable)) throw err;
    ctx.deps.logger.warn({ err, requestId: rec.requestId }, 'request input unreadable; retrying');
    const retry = () => {
      startWithInput(ctx, entry, app).catch((e: unknown) =>
        ctx.deps.logger.error({ err: e, requestId: rec.requestId }, 'request could not be resumed'),
      );
    };
    setTimeout(retry, err.retryAfterS * 1000).unref();
    return;
  }
  if (!input) {
    ctx.exec.fail(entry, new PlatformError('SERVER_INTERNAL', 'The request input was lost'), rec.attempts);
    return;
  }
  const prefix = `${rec.owner}/${rec.app}`;
  const route = rec.endpointId.length > prefix.length ? rec.endpointId.slice(prefix.length) : '/';
  ctx.exec.start(
    entry,
    {
      path: route,
      method: rec.method,
      // Only the body survives a restart; fal's clients always send JSON.
      headers: input.length > 0 ? { 'content-type': 'application/json' } : {},
      body: input,
      timeoutMs: app.manifest.request_timeout * 1000,
      noRetry: false,
      retryBudgets: null,
      runnerHint: null,
    },
    rec.attempts,
  );
}

function closeAbandonedSync(ctx: GatewayContext, rec: RequestRecord): void {
  closeAbandonedSyncCall(ctx.deps.requests, rec, ctx.deps.clock());
}

/**
 * Records a sync call whose accepting node is gone (restarted, or dead) as the connection error its
 * caller saw: fal never retries a direct call. Completing by request id, so closing it twice writes the same.
 */
export function closeAbandonedSyncCall(
  requests: Pick<RequestStore, 'complete'>,
  rec: RequestRecord,
  now: number,
): void {
  requests.complete(
    rec.requestId,
    {
      status: 'COMPLETED',
      endedAt: now,
      statusCode: ABANDONED_SYNC_STATUS,
      billableUnits: rec.billableUnits ?? 0,
      errorClass: 'connection',
    },
    null,
    now,
  );
}
