import type { DispatchRequest, DispatchResult, RetryCondition, StreamControl } from '@hangar/core';
import type { AppPool } from '../app-pool.js';
import type { Runner } from '../runner.js';
import { headersFromRaw } from './results.js';

export type JobState = 'queued' | 'running' | 'done';

/** What an app's answer asks of the platform (fal's `X-Fal-Needs-Retry` and `x-fal-stop-runner`). */
export interface AnswerControl {
  /** `1` forces a retry, `0` prevents one; null when absent or not `0`/`1`. */
  needsRetry: '1' | '0' | null;
  /** true stops the runner after this answer, false keeps a runner that answered 503; null when absent. */
  stopRunner: boolean | null;
}

const STOP_VALUES: Record<string, boolean> = { '1': true, true: true, '0': false, false: false };

/**
 * One dispatched request through its queueing and attempts. It is also the undici dispatch handler of
 * its current attempt, so an attempt allocates nothing beyond the response chunks.
 */
export class Job implements StreamControl {
  state: JobState = 'queued';
  attempts = 0;
  runner: Runner | null = null;
  startedAt: number | null = null;
  coldStart = false;
  coldBootMs: number | null = null;
  /** Response of the current attempt (0 until headers arrive). */
  statusCode = 0;
  rawHeaders: Buffer[] | null = null;
  /** The current attempt's headers, once read (sync calls read them early, to tell a stream). */
  headersRead: Record<string, string> | null = null;
  chunks: Buffer[] = [];
  error: Error | null = null;
  /** The answer is streaming to the caller: the attempt cannot be retried. */
  streaming = false;
  /** The caller of a streamed answer went away and the runner's connection was closed. */
  clientGone = false;
  /** The app's answer, held for one tick before it settles the job (see `AppPool.settleNextTick`). */
  answer: DispatchResult | null = null;
  /** Retries made so far, per condition (each has its own budget). */
  readonly retriesBy: Record<RetryCondition, number> = { server_error: 0, timeout: 0, connection_error: 0 };
  /** Attempts made before this dispatch (on other nodes): they count against the attempt ceiling. */
  readonly priorAttempts: number;
  /** Fires the start deadline while the job waits in its queue. */
  deadlineTimer: NodeJS.Timeout | null = null;
  private control: AnswerControl | null = null;
  private forwardHeaders: string[] | null = null;
  private abortAttempt: ((err: Error) => void) | null = null;
  private resumeAttempt: (() => void) | null = null;
  private resolve: ((result: DispatchResult) => void) | null = null;
  private reject: ((err: Error) => void) | null = null;

  constructor(
    readonly req: DispatchRequest,
    /** When the supervisor received it (injected clock); queue deadlines and cold starts count from here. */
    readonly enqueuedAt: number,
    /** The app pool that queues and runs it. */
    readonly pool: AppPool,
    /** The supervisor's index of live jobs, left when the job settles. */
    private readonly index: Map<string, Job>,
  ) {
    this.priorAttempts = req.prior?.attempts ?? 0;
    if (req.prior) Object.assign(this.retriesBy, req.prior.retriesBy);
  }

  /** The outcome promise; call once, right after construction. */
  promise(): Promise<DispatchResult> {
    return new Promise<DispatchResult>((resolve, reject) => {
      this.resolve = resolve;
      this.reject = reject;
    });
  }

  /** Request headers plus the two the runner contract adds, as undici's flat name/value list. */
  headers(): string[] {
    if (this.forwardHeaders !== null) return this.forwardHeaders;
    const out: string[] = [];
    const given = this.req.headers;
    for (const name in given) {
      if (name === 'x-fal-request-id' || name === 'x-fal-endpoint') continue;
      out.push(name, given[name]!);
    }
    out.push('x-fal-request-id', this.req.requestId, 'x-fal-endpoint', this.req.endpointId);
    this.forwardHeaders = out;
    return out;
  }

  resetAttempt(): void {
    this.statusCode = 0;
    this.rawHeaders = null;
    this.headersRead = null;
    this.chunks = [];
    this.error = null;
    this.control = null;
  }

  /**
   * The current answer's headers with the platform's control headers taken out (they never reach the
   * caller), and what those asked for.
   */
  takeControl(): AnswerControl {
    if (this.control !== null) return this.control;
    const headers = this.headersRead ?? headersFromRaw(this.rawHeaders);
    this.headersRead = headers;
    const retry = headers['x-fal-needs-retry']?.trim();
    const stop = headers['x-fal-stop-runner']?.trim().toLowerCase();
    delete headers['x-fal-needs-retry'];
    delete headers['x-fal-stop-runner'];
    this.control = {
      needsRetry: retry === '1' || retry === '0' ? retry : null,
      stopRunner: stop === undefined ? null : (STOP_VALUES[stop] ?? null),
    };
    return this.control;
  }

  /** Stops the start-deadline timer (the job started, or settled). */
  clearDeadline(): void {
    if (this.deadlineTimer !== null) {
      clearTimeout(this.deadlineTimer);
      this.deadlineTimer = null;
    }
  }

  /** Resolves the dispatch with its outcome (first call wins). */
  settle(result: DispatchResult): void {
    if (this.state === 'done') return;
    this.state = 'done';
    this.clearDeadline();
    this.leaveIndex();
    this.resolve!(result);
  }

  /** Rejects the dispatch: the request was not handled and must be resumed elsewhere. */
  abandon(err: Error): void {
    if (this.state === 'done') return;
    this.state = 'done';
    this.clearDeadline();
    this.leaveIndex();
    this.reject!(err);
  }

  private leaveIndex(): void {
    if (this.index.get(this.req.requestId) === this) this.index.delete(this.req.requestId);
  }

  /** Closes the runner's connection of a streamed answer whose caller went away. */
  abort(): void {
    if (!this.streaming || this.clientGone || this.state !== 'running') return;
    this.clientGone = true;
    this.abortAttempt?.(new Error('client closed the stream'));
  }

  /** Resumes reading a streamed answer paused for a slow caller. */
  resume(): void {
    this.resumeAttempt?.();
  }

  onConnect(abort: (err: Error) => void): void {
    this.abortAttempt = abort;
  }

  onHeaders(statusCode: number, rawHeaders: Buffer[], resume: () => void): boolean {
    // 1xx informational answers precede the real one.
    if (statusCode < 200) return true;
    this.statusCode = statusCode;
    this.rawHeaders = rawHeaders;
    const stream = this.req.stream;
    // Only sync calls can stream; a 503 is retried, so it is never handed on.
    if (stream === undefined || statusCode === 503) return true;
    const headers = headersFromRaw(rawHeaders);
    this.headersRead = headers;
    if (!isStreamed(headers)) return true;
    this.takeControl();
    this.streaming = true;
    this.resumeAttempt = resume;
    stream.open(statusCode, headers, this);
    return true;
  }

  onData(chunk: Buffer): boolean {
    if (this.streaming) return this.req.stream!.write(chunk);
    this.chunks.push(chunk);
    return true;
  }

  onComplete(trailers: string[] | null): void {
    if (this.streaming) {
      // A stream knows its billable units only at its end: an HTTP trailer may carry them. (undici types
      // trailers as strings but hands over Buffers; `toString('latin1')` reads either.)
      const units = trailers === null ? undefined : headersFromRaw(trailers as never)['x-fal-billable-units'];
      if (units !== undefined) this.headersRead!['x-fal-billable-units'] = units;
      this.req.stream!.end();
    }
    this.pool.attemptEnded(this);
  }

  onError(err: Error): void {
    this.error = err;
    if (this.streaming) this.req.stream!.fail();
    this.pool.attemptEnded(this);
  }
}

/** A runner answer that is passed on as it arrives: an event stream, or a body of unannounced length. */
function isStreamed(headers: Record<string, string>): boolean {
  return (
    headers['content-length'] === undefined ||
    headers['content-type']?.startsWith('text/event-stream') === true
  );
}
