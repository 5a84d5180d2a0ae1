import {
  type DispatchRequest,
  type DispatchResult,
  type DispatchStart,
  falGatewayErrorHeaders,
  PlatformError,
  type RequestRecord,
  type RequestStore,
  type RetryBudgets,
  type StoredResult,
  toFalGatewayError,
} from '@hangar/core';
import type { GatewayDeps } from './deps.js';
import type { Invocation } from './invocation.js';
import { type LateWrite, LateWrites } from './late-writes.js';
import type { LiveRequest, LiveRequests } from './live.js';
import { completionPatch, newRecord, responseOf, startPatch } from './recording.js';
import type { StreamedReply } from './stream-reply.js';
import { SyncRecord } from './sync-record.js';

/** The webhook outbox as execution sees it (`WebhookSender`). */
export interface ExecutionWebhooks {
  /** Records a request's delivery before the request itself. */
  accept(rec: RequestRecord, userId: string): Promise<void>;
  /** Arms the delivery of a finished request. */
  finished(entry: LiveRequest, response: StoredResult): void;
}

/** What the runner is sent for one request. */
export interface Job {
  path: string;
  method: string;
  headers: Record<string, string>;
  body: Buffer;
  timeoutMs: number;
  noRetry: boolean;
  retryBudgets: RetryBudgets | null;
  runnerHint: string | null;
}

/** The outcome of a sync call. */
export interface SyncOutcome {
  requestId: string;
  result: DispatchResult;
  response: StoredResult;
}

type ExecutionDeps = Pick<
  GatewayDeps,
  'dispatcher' | 'requests' | 'clock' | 'ids' | 'resultTtlMs' | 'jsonCap' | 'logger'
>;

/**
 * Sync calls finishing sooner are recorded in one row at completion; a queued request's start is
 * written only if it is still running this long after starting (its completion carries the same fields).
 */
const LATE_WRITE_DELAY_MS = 250;

/** Runs sync and queued requests through the dispatcher and records each step. */
export class Execution {
  private closed = false;
  private readonly running = new Map<string, Promise<void>>();
  private readonly late: LateWrites;

  constructor(
    private readonly deps: ExecutionDeps,
    readonly live: LiveRequests,
    private readonly webhooks: ExecutionWebhooks,
  ) {
    this.late = new LateWrites(LATE_WRITE_DELAY_MS, deps.clock);
  }

  /**
   * Dispatches a sync call; the record is written alongside, never delaying the answer. An answer the
   * runner streams goes to `stream` as it arrives, and its record keeps what `stream` captured.
   */
  async runSync(inv: Invocation, stream?: StreamedReply): Promise<SyncOutcome> {
    const { dispatcher, requests, ids, clock, jsonCap } = this.deps;
    const requestId = ids();
    const rec = newRecord(inv, requestId, 'sync', clock());
    const onError = (err: unknown) => this.failed(err, requestId);
    const record = new SyncRecord(requests, rec, onError, this.late);
    let onStart = record.onStart;
    if (stream) {
      stream.requestId = requestId;
      onStart = (info) => {
        stream.servedFrom = info.runnerId;
        record.onStart(info);
      };
    }
    let result: DispatchResult;
    try {
      result = await dispatcher.dispatch(dispatchRequest(rec, inv, onStart, stream));
    } catch (err) {
      const statusCode = err instanceof PlatformError ? err.status : 500;
      const now = clock();
      record.finish({ status: 'COMPLETED', endedAt: now, statusCode, billableUnits: 0 }, now);
      throw err;
    }
    const response = responseOf(result);
    const patch = completionPatch(rec, result, response, jsonCap, 0);
    if (stream?.opened) patch.jsonOutput = rec.storeIo ? stream.recordedOutput() : null;
    record.finish(patch, clock());
    return { requestId, result, response };
  }

  /** Accepts a queued request: resolves once it is durably recorded and handed to the dispatcher. */
  async submit(inv: Invocation): Promise<LiveRequest> {
    const rec = newRecord(inv, this.deps.ids(), 'queue', this.deps.clock());
    const userId = inv.principal?.owner ?? inv.app.owner;
    // The delivery is durable before the request: a recorded request with a webhook always has one.
    if (rec.webhookUrl) await this.webhooks.accept(rec, userId);
    await this.deps.requests.insert(rec, inv.body);
    const entry = this.live.add(rec, userId);
    this.start(entry, jobOf(inv), 0);
    return entry;
  }

  /** Hands a recorded request to the dispatcher; `baseAttempts` counts attempts made before a restart. */
  start(entry: LiveRequest, job: Job, baseAttempts: number): void {
    const rec = entry.rec;
    let lateStart: QueuedStart | null = null;
    const onStart = (info: DispatchStart) => {
      if (this.closed) return;
      const patch = startPatch(info, rec.sentAt, baseAttempts);
      Object.assign(rec, patch);
      if (lateStart) this.late.drop(lateStart);
      lateStart = new QueuedStart(rec.requestId, patch, this.deps.requests, this.late.dueFromNow());
      this.late.add(lateStart);
      this.live.notify(entry);
    };
    const done = this.deps.dispatcher
      .dispatch(jobRequest(rec, job, onStart))
      .catch((err: unknown) => this.failureResult(err, rec.requestId))
      .then((result) => {
        // The completion carries every start field: a start not written yet never needs to be.
        if (lateStart) this.late.drop(lateStart);
        // A dispatcher shutting down leaves the request unfinished: the next process resumes it.
        if (result) this.finish(entry, result, baseAttempts);
      })
      .finally(() => this.running.delete(rec.requestId));
    this.running.set(rec.requestId, done);
  }

  /** Records a queued request as completed with a platform error (used when it cannot run at all). */
  fail(entry: LiveRequest, err: PlatformError, baseAttempts: number): void {
    this.finish(entry, platformResult(err, this.deps.clock()), baseAttempts);
  }

  private finish(entry: LiveRequest, result: DispatchResult, baseAttempts: number): void {
    if (this.closed) return;
    const { requests, clock, jsonCap, resultTtlMs } = this.deps;
    const response = responseOf(result);
    const patch = completionPatch(entry.rec, result, response, jsonCap, baseAttempts);
    Object.assign(entry.rec, patch);
    const now = clock();
    if (!result.recorded) requests.complete(entry.rec.requestId, patch, response, now + resultTtlMs);
    this.live.finish(entry, response, now);
    this.webhooks.finished(entry, response);
  }

  private failureResult(err: unknown, requestId: string): DispatchResult | null {
    if (err instanceof PlatformError && err.code === 'SERVER_SHUTTING_DOWN') return null;
    this.failed(err, requestId);
    return platformResult(new PlatformError('SERVER_INTERNAL'), this.deps.clock());
  }

  private failed(err: unknown, requestId: string): false {
    this.deps.logger.error({ err, requestId }, 'request could not be processed');
    return false;
  }

  /** Stops recording outcomes after letting requests already running finish. */
  async close(): Promise<void> {
    const inProgress: Promise<void>[] = [];
    for (const entry of this.live.pending()) {
      const done = this.running.get(entry.rec.requestId);
      if (done && entry.rec.status === 'IN_PROGRESS') inProgress.push(done);
    }
    await Promise.allSettled(inProgress);
    this.closed = true;
    this.late.stop();
  }
}

function jobOf(inv: Invocation): Job {
  return {
    path: inv.forwardPath,
    method: inv.method,
    headers: inv.headers,
    body: inv.body,
    timeoutMs: inv.timeoutS * 1000,
    noRetry: inv.noRetry,
    retryBudgets: inv.retryBudgets,
    runnerHint: inv.runnerHint,
  };
}

/** The start deadline of a recorded request: `timeoutS` (the caller's `X-Fal-Request-Timeout`) after it was sent. */
function startDeadlineOf(rec: RequestRecord): number | null {
  return rec.timeoutS === null ? null : rec.sentAt + rec.timeoutS * 1000;
}

/**
 * The dispatch of a sync call, built in one literal (the hot path allocates no intermediate job). A direct
 * call is never retried (fal), so `noRetry` is always set.
 */
function dispatchRequest(
  rec: RequestRecord,
  inv: Invocation,
  onStart: (info: DispatchStart) => void,
  stream: StreamedReply | undefined,
): DispatchRequest {
  return {
    requestId: rec.requestId,
    owner: rec.owner,
    app: rec.app,
    endpointId: rec.endpointId,
    path: inv.forwardPath,
    method: inv.method,
    headers: inv.headers,
    body: inv.body,
    priority: rec.priority,
    timeoutMs: inv.timeoutS * 1000,
    startDeadline: startDeadlineOf(rec),
    noRetry: true,
    retryBudgets: null,
    runnerHint: inv.runnerHint,
    sentAt: rec.sentAt,
    onStart,
    stream,
    hold: inv.hold,
  };
}

function jobRequest(rec: RequestRecord, job: Job, onStart: (info: DispatchStart) => void): DispatchRequest {
  return {
    requestId: rec.requestId,
    owner: rec.owner,
    app: rec.app,
    endpointId: rec.endpointId,
    path: job.path,
    method: job.method,
    headers: job.headers,
    body: job.body,
    priority: rec.priority,
    timeoutMs: job.timeoutMs,
    startDeadline: startDeadlineOf(rec),
    noRetry: job.noRetry,
    retryBudgets: job.retryBudgets,
    runnerHint: job.runnerHint,
    sentAt: rec.sentAt,
    onStart,
  };
}

/** A queued request's start, written only if it is still running when due. */
class QueuedStart implements LateWrite {
  constructor(
    private readonly requestId: string,
    private readonly patch: Partial<RequestRecord>,
    private readonly requests: RequestStore,
    readonly dueAt: number,
  ) {}

  fire(): void {
    this.requests.update(this.requestId, this.patch);
  }
}

/** A platform error as a dispatch outcome, in fal's gateway error shape. */
function platformResult(err: PlatformError, now: number): DispatchResult {
  const body = toFalGatewayError(err);
  return {
    statusCode: err.status,
    headers: { 'content-type': 'application/json', ...falGatewayErrorHeaders(err) },
    body: Buffer.from(JSON.stringify(body)),
    runnerId: null,
    startedAt: null,
    endedAt: now,
    coldStart: false,
    coldBootMs: null,
    billableUnits: 0,
    errorClass: null,
    attempts: 0,
    cancelled: false,
  };
}
