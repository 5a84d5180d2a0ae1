import {
  type DispatchResult,
  PlatformError,
  type RequestRecord,
  type StoredResult,
  toEnvelope,
} from '@hangar/core';
import type { GatewayDeps } from './deps.js';
import type { Invocation } from './invocation.js';
import type { LiveRequest, LiveRequests } from './live.js';
import { completionPatch, newRecord, responseOf, startPatch } from './recording.js';
import { SyncRecord } from './sync-record.js';

/** What the runner is sent for one request. */
export interface Job {
  path: string;
  method: string;
  headers: Record<string, string>;
  body: Buffer;
  timeoutMs: number;
  noRetry: boolean;
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

/** Sync calls finishing sooner are recorded in one store batch at completion. */
const SYNC_RECORD_DELAY_MS = 250;

/** Runs sync and queued requests through the dispatcher and records each step. */
export class Execution {
  private closed = false;
  private readonly running = new Map<string, Promise<void>>();

  constructor(
    private readonly deps: ExecutionDeps,
    readonly live: LiveRequests,
    private readonly onFinished: (entry: LiveRequest, response: StoredResult) => void,
  ) {}

  /** Dispatches a sync call; the record is written alongside, never delaying the answer. */
  async runSync(inv: Invocation): Promise<SyncOutcome> {
    const { dispatcher, requests, ids, clock, jsonCap } = this.deps;
    const requestId = ids();
    const rec = newRecord(inv, requestId, 'sync', clock());
    const record = new SyncRecord(requests, rec, (err) => this.failed(err, requestId), SYNC_RECORD_DELAY_MS);
    const result = await dispatcher
      .dispatch({
        ...dispatchFields(rec, jobOf(inv)),
        onStart: (info) => record.start(startPatch(info, rec.sentAt, 0)),
      })
      .catch((err: unknown) => {
        const statusCode = err instanceof PlatformError ? err.status : 500;
        const now = clock();
        record.finish({ status: 'COMPLETED', endedAt: now, statusCode, billableUnits: 0 }, now);
        throw err;
      });
    const response = responseOf(result);
    record.finish(completionPatch(rec, result, response, jsonCap, 0), clock());
    return { requestId, result, response };
  }

  /** Accepts a queued request: resolves once it is durably recorded and handed to the dispatcher. */
  async submit(inv: Invocation): Promise<LiveRequest> {
    const rec = newRecord(inv, this.deps.ids(), 'queue', this.deps.clock());
    await this.deps.requests.insert(rec, inv.body);
    const entry = this.live.add(rec, inv.principal?.owner ?? inv.app.owner);
    this.start(entry, jobOf(inv), 0);
    return entry;
  }

  /** Hands a recorded request to the dispatcher; `baseAttempts` counts attempts made before a restart. */
  start(entry: LiveRequest, job: Job, baseAttempts: number): void {
    const { dispatcher, requests } = this.deps;
    const rec = entry.rec;
    const done = dispatcher
      .dispatch({
        ...dispatchFields(rec, job),
        onStart: (info) => {
          if (this.closed) return;
          const patch = startPatch(info, rec.sentAt, baseAttempts);
          Object.assign(rec, patch);
          requests.update(rec.requestId, patch);
          this.live.notify(entry);
        },
      })
      .catch((err: unknown) => this.failureResult(err, rec.requestId))
      .then((result) => {
        // A dispatcher shutting down leaves the request unfinished: the next process resumes it.
        if (result) this.finish(entry, result, baseAttempts);
      })
      .finally(() => this.running.delete(rec.requestId));
    this.running.set(rec.requestId, done);
  }

  /** Records a queued request as completed with a platform error (used when it cannot run at all). */
  fail(entry: LiveRequest, err: PlatformError, baseAttempts: number): void {
    const body = Buffer.from(JSON.stringify(toEnvelope(err, entry.rec.requestId)));
    this.finish(entry, platformResult(err.status, body, this.deps.clock()), baseAttempts);
  }

  private finish(entry: LiveRequest, result: DispatchResult, baseAttempts: number): void {
    if (this.closed) return;
    const { requests, clock, jsonCap, resultTtlMs } = this.deps;
    const response = responseOf(result);
    const patch = completionPatch(entry.rec, result, response, jsonCap, baseAttempts);
    Object.assign(entry.rec, patch);
    const now = clock();
    requests.complete(entry.rec.requestId, patch, response, now + resultTtlMs);
    this.live.finish(entry, response, now);
    this.onFinished(entry, response);
  }

  private failureResult(err: unknown, requestId: string): DispatchResult | null {
    if (err instanceof PlatformError && err.code === 'SERVER_SHUTTING_DOWN') return null;
    this.failed(err, requestId);
    const body = Buffer.from(JSON.stringify(toEnvelope(new PlatformError('SERVER_INTERNAL'), requestId)));
    return platformResult(500, body, this.deps.clock());
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
  };
}

function dispatchFields(rec: RequestRecord, job: Job) {
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
    noRetry: job.noRetry,
    sentAt: rec.sentAt,
  };
}

function platformResult(statusCode: number, body: Buffer, now: number): DispatchResult {
  return {
    statusCode,
    headers: { 'content-type': 'application/json' },
    body,
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
