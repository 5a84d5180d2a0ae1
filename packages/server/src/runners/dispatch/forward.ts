import type { Dispatcher as UndiciDispatcher } from 'undici';
import { request } from 'undici';
import type { Runner } from '../runner.js';
import type { Job } from './job.js';

/** How long the runner gets to acknowledge a cancel signal. */
const CANCEL_TIMEOUT_MS = 5000;

/** undici error codes of an attempt that ran out of its time. */
const TIMEOUT_CODES = new Set(['UND_ERR_HEADERS_TIMEOUT', 'UND_ERR_BODY_TIMEOUT']);

/** Error codes that mean the request itself is unusable, so another runner would fail the same way. */
const REQUEST_FAULT_CODES = new Set(['UND_ERR_INVALID_ARG', 'UND_ERR_NOT_SUPPORTED']);

/** True when the attempt failed because it exceeded the request timeout. */
export function isTimeoutError(err: Error): boolean {
  return TIMEOUT_CODES.has((err as { code?: string }).code ?? '');
}

/** True when the runner refused the connection: nothing of the request reached the app. */
export function isRefusedError(err: Error): boolean {
  return (err as { code?: string }).code === 'ECONNREFUSED';
}

/** True when the request cannot be sent as given (bad header value …): not a runner fault. */
export function isRequestFault(err: Error): boolean {
  return REQUEST_FAULT_CODES.has((err as { code?: string }).code ?? '');
}

/**
 * Sends the job's current attempt to a ready runner. The request timeout is enforced by undici's own
 * timers: headers must arrive, and body chunks keep arriving, within `timeoutMs`.
 */
export function sendAttempt(runner: Runner, job: Job): void {
  const req = job.req;
  const opts: UndiciDispatcher.DispatchOptions = {
    path: req.path,
    method: req.method as UndiciDispatcher.HttpMethod,
    headers: job.headers(),
    body: req.body.length > 0 ? req.body : null,
    headersTimeout: req.timeoutMs,
    bodyTimeout: req.timeoutMs,
  };
  runner.http!.dispatch(opts, job);
}

const JSON_HEADERS = [Buffer.from('content-type'), Buffer.from('application/json')];

/**
 * Gives the job's runner slot to its `hold` function (a WebSocket connection) instead of an HTTP request;
 * the attempt ends, with the outcome the holder reports, when it lets go.
 */
export function holdAttempt(runner: Runner, job: Job, hold: NonNullable<Job['req']['hold']>): void {
  hold(runner.handle!.url, job.req.requestId).then(
    (outcome) => {
      job.statusCode = outcome.statusCode;
      job.rawHeaders = JSON_HEADERS;
      job.chunks = [outcome.body];
      job.pool.attemptEnded(job);
    },
    (err: unknown) => job.onError(err instanceof Error ? err : new Error(String(err))),
  );
}

/** `<route>/cancel` for a forwarded path (its query string dropped). */
export function cancelPathOf(path: string): string {
  const q = path.indexOf('?');
  const route = (q === -1 ? path : path.slice(0, q)).replace(/\/+$/, '');
  return `${route}/cancel`;
}

/** Tells the runner to cancel a request it is serving; the app's answer is not awaited beyond a short timeout. */
export async function sendCancel(runner: Runner, job: Job): Promise<void> {
  if (!runner.handle) return;
  try {
    const res = await request(runner.handle.url + cancelPathOf(job.req.path), {
      method: 'POST',
      headers: { 'x-fal-request-id': job.req.requestId, 'x-fal-endpoint': job.req.endpointId },
      headersTimeout: CANCEL_TIMEOUT_MS,
      bodyTimeout: CANCEL_TIMEOUT_MS,
    });
    await res.body.dump();
  } catch {
    // The runner may be gone or not implement cancel; the request ends on its own either way.
  }
}
