import type { DispatchRequest, DispatchResult } from '@hangar/core';
import type { AppPool } from '../app-pool.js';
import type { Runner } from '../runner.js';

export type JobState = 'queued' | 'running' | 'done';

/**
 * One dispatched request through its queueing and attempts. It is also the undici dispatch handler of
 * its current attempt, so an attempt allocates nothing beyond the response chunks.
 */
export class Job {
  state: JobState = 'queued';
  attempts = 0;
  runner: Runner | null = null;
  startedAt: number | null = null;
  coldStart = false;
  coldBootMs: number | null = null;
  /** Response of the current attempt (0 until headers arrive). */
  statusCode = 0;
  rawHeaders: Buffer[] | null = null;
  chunks: Buffer[] = [];
  error: Error | null = null;
  /** The app's answer, held for one tick before it settles the job (see `AppPool.settleNextTick`). */
  answer: DispatchResult | null = null;
  private forwardHeaders: string[] | null = null;
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

  onConnect(): void {}

  onHeaders(statusCode: number, rawHeaders: Buffer[]): boolean {
    // 1xx informational answers precede the real one.
    if (statusCode >= 200) {
      this.statusCode = statusCode;
      this.rawHeaders = rawHeaders;
    }
    return true;
  }

  onData(chunk: Buffer): boolean {
    this.chunks.push(chunk);
    return true;
  }

  onComplete(): void {
    this.pool.attemptEnded(this);
  }

  onError(err: Error): void {
    this.error = err;
    this.pool.attemptEnded(this);
  }
}
