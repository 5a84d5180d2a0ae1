import type { DispatchRequest, DispatchResult, StreamControl } from '@hangar/core';
import type { AppPool } from '../app-pool.js';
import type { Runner } from '../runner.js';
import { headersFromRaw } from './results.js';

export type JobState = 'queued' | 'running' | 'done';

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
  ) {}

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
  }

  /** Resolves the dispatch with its outcome (first call wins). */
  settle(result: DispatchResult): void {
    if (this.state === 'done') return;
    this.state = 'done';
    this.leaveIndex();
    this.resolve!(result);
  }

  /** Rejects the dispatch: the request was not handled and must be resumed elsewhere. */
  abandon(err: Error): void {
    if (this.state === 'done') return;
    this.state = 'done';
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
