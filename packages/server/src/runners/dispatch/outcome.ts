import { PlatformError } from '@hangar/core';
import type { AppPool } from '../app-pool.js';
import type { SupervisorContext } from '../context.js';
import type { Runner } from '../runner.js';
import { isRequestFault, isTimeoutError } from './forward.js';
import type { Job } from './job.js';
import { clientCancelledResult, errorResult, responseResult } from './results.js';

/**
 * Decides what an ended attempt means, following fal: a timeout answers 504 and is not retried; a
 * lost connection and a 503 answer are retried on another runner (bounded, unless `noRetry`) and take
 * that runner out of rotation; any other answer, 5xx included, is returned as the app gave it. An answer
 * already streaming to its caller is never retried, and one whose caller went away ends cancelled.
 */
export function settleAttempt(
  ctx: SupervisorContext,
  pool: AppPool,
  job: Job,
  runner: Runner,
  now: number,
): void {
  const err = job.error;
  if (job.clientGone) {
    pool.settleNextTick(job, clientCancelledResult(job, now));
    return;
  }
  if (err === null && job.statusCode !== 503) {
    // A runner prints its last lines just before answering, but stdout and the socket are separate pipes:
    // give output already read this turn one tick to be captured, so the request's logs are complete
    // when it shows COMPLETED.
    pool.settleNextTick(job, responseResult(job, now, job.statusCode >= 500 ? 'runtime' : null));
    return;
  }
  if (err !== null && isTimeoutError(err)) {
    job.settle(errorResult(job, 'RUNNER_TIMEOUT', now, 'timeout', runner.id));
    return;
  }
  if (err !== null && job.streaming) {
    // Part of the answer was delivered: nothing can be resumed or retried, whatever the cause.
    if (!ctx.closing) runner.markSuspect(now);
    job.settle(errorResult(job, 'RUNNER_CONNECTION_FAILED', now, 'connection', runner.id));
    return;
  }
  if (err !== null && ctx.closing) {
    // Killed by shutdown: left unfinished so the next server process runs it again.
    job.abandon(new PlatformError('SERVER_SHUTTING_DOWN'));
    return;
  }
  if (err !== null && isRequestFault(err)) {
    job.settle(errorResult(job, 'REQUEST_INVALID', now, null, runner.id, err.message));
    return;
  }
  if (err === null) runner.drain('answered 503');
  else runner.markSuspect(now);
  if (pool.canRetry(job)) {
    pool.requeue(job);
    return;
  }
  if (err === null) job.settle(responseResult(job, now, 'runtime'));
  else job.settle(errorResult(job, 'RUNNER_CONNECTION_FAILED', now, 'connection', runner.id));
}
