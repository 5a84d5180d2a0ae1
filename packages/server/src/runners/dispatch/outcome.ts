import { PlatformError, type RetryCondition } from '@hangar/core';
import type { AppPool } from '../app-pool.js';
import type { SupervisorContext } from '../context.js';
import type { Runner } from '../runner.js';
import { isRefusedError, isRequestFault, isTimeoutError } from './forward.js';
import type { Job } from './job.js';
import { clientCancelledResult, errorResult, responseResult } from './results.js';

/**
 * Decides what an ended attempt means, following fal's retry reference. A queued request is retried on
 * `503` and `504` answers (`server_error`), an incomplete answer (`server_error`), a lost connection
 * (`connection_error`) and an overrun of `request_timeout` (`timeout`), within the per-condition budgets
 * and the attempt ceiling; the app's `X-Fal-Needs-Retry` on a 5xx or 429 answer forces (`1`) or prevents
 * (`0`) it. Direct calls are not retried, except when the runner refused the connection (nothing was
 * sent). Runner consequences follow fal's status table: `503` or `x-fal-stop-runner: 1` drains the runner,
 * `500`, `502` and `504` run a TCP health check, a timeout or lost connection takes it out of rotation.
 * An answer already streaming to its caller is never retried, and one whose caller went away ends cancelled.
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
  if (err === null) {
    settleAnswer(pool, job, runner, now);
    return;
  }
  if (job.streaming) {
    // Part of the answer was delivered: nothing can be resumed or retried, whatever the cause.
    if (!ctx.closing) runner.markSuspect(now);
    job.settle(errorResult(job, 'RUNNER_CONNECTION_FAILED', now, 'connection', runner.id));
    return;
  }
  if (ctx.closing) {
    // Killed by shutdown: left unfinished so the next server process runs it again.
    job.abandon(new PlatformError('SERVER_SHUTTING_DOWN'));
    return;
  }
  if (isRequestFault(err)) {
    job.settle(errorResult(job, 'REQUEST_INVALID', now, null, runner.id, err.message));
    return;
  }
  const timedOut = isTimeoutError(err);
  // Headers arrived but the body broke off: fal counts an incomplete response as a server error.
  const condition: RetryCondition = timedOut
    ? 'timeout'
    : job.statusCode !== 0
      ? 'server_error'
      : 'connection_error';
  if (timedOut) runner.drain('request_timeout exceeded');
  else runner.markSuspect(now);
  const mode = isRefusedError(err) ? 'refused' : 'default';
  if (pool.retry(job, runner, condition, mode, `${err.message}`)) return;
  if (timedOut) job.settle(errorResult(job, 'RUNNER_TIMEOUT', now, 'timeout', runner.id));
  else job.settle(errorResult(job, 'RUNNER_CONNECTION_FAILED', now, 'connection', runner.id));
}

/** The app answered: runner consequences first, then a retry or the answer itself. */
function settleAnswer(pool: AppPool, job: Job, runner: Runner, now: number): void {
  const status = job.statusCode;
  const control = job.takeControl();
  runner.noteHints(job.headersRead!);
  if (control.stopRunner === true) runner.drain('app asked to stop the runner (x-fal-stop-runner)');
  else if (status === 503 && control.stopRunner === null) runner.drain('answered 503');
  else if (status === 500 || status === 502 || status === 504) runner.checkTcp(`answered ${status}`);
  // X-Fal-Needs-Retry is honoured only where fal honours it: on 5xx and 429 answers.
  const needs = status >= 500 || status === 429 ? control.needsRetry : null;
  const wanted = needs === '1' || (needs === null && (status === 503 || status === 504));
  if (wanted && !job.streaming) {
    const mode = needs === '1' ? 'forced' : 'default';
    if (pool.retry(job, runner, 'server_error', mode, `answered ${status}`)) return;
  }
  // A runner prints its last lines just before answering, but stdout and the socket are separate pipes:
  // give output already read this turn one tick to be captured, so the request's logs are complete
  // when it shows COMPLETED.
  pool.settleNextTick(job, responseResult(job, now, status >= 500 ? 'runtime' : null));
}
