import type { RequestRecord, RequestStore } from '@hangar/core';

const EMPTY = Buffer.alloc(0);

/**
 * Records one sync call with as few row writes as possible: a call that finishes within `delayMs` is
 * inserted once, already completed; a longer one is inserted when the delay passes (so calls in flight
 * are visible), then updated at start and completion.
 */
export class SyncRecord {
  private inserted: Promise<boolean> | null = null;
  private started: Partial<RequestRecord> | null = null;
  private readonly timer: NodeJS.Timeout;

  constructor(
    private readonly requests: RequestStore,
    private readonly rec: RequestRecord,
    private readonly onError: (err: unknown) => false,
    delayMs: number,
  ) {
    this.timer = setTimeout(() => this.insertPending(), delayMs);
    this.timer.unref();
  }

  /** Records the start of the attempt. */
  start(patch: Partial<RequestRecord>): void {
    this.started = patch;
    this.inserted?.then((ok) => ok && this.requests.update(this.rec.requestId, patch));
  }

  /** Records completion; `now` is the completion time. */
  finish(patch: Partial<RequestRecord>, now: number): void {
    clearTimeout(this.timer);
    const id = this.rec.requestId;
    if (this.inserted) {
      this.inserted.then((ok) => ok && this.requests.complete(id, patch, null, now));
      return;
    }
    // Not written yet: the record is ours alone, so it is completed in place and inserted in one row.
    const rec = this.rec;
    if (this.started) Object.assign(rec, this.started);
    Object.assign(rec, patch);
    rec.status = 'COMPLETED';
    this.inserted = this.requests.insert(rec, EMPTY).then(() => true, this.onError);
  }

  private insertPending(): void {
    // Sync calls are not resumable (the caller holds the connection), so the raw input is not kept.
    const rec = this.started ? { ...this.rec, ...this.started } : this.rec;
    this.inserted ??= this.requests.insert(rec, EMPTY).then(() => true, this.onError);
  }
}
