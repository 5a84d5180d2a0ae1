import type { DispatchStart, RequestRecord, RequestStore } from '@hangar/core';
import type { LateWrite, LateWrites } from './late-writes.js';
import { startPatch } from './recording.js';

const EMPTY = Buffer.alloc(0);

/**
 * Records one sync call with as few row writes as possible: a call that finishes before it falls due is
 * inserted once, already completed; a longer one is inserted when it falls due (so calls in flight are
 * visible), then updated at start and completion.
 */
export class SyncRecord implements LateWrite {
  private inserted: Promise<boolean> | null = null;
  private started: Partial<RequestRecord> | null = null;
  private finished = false;

  readonly dueAt: number;

  constructor(
    private readonly requests: RequestStore,
    private readonly rec: RequestRecord,
    private readonly onError: (err: unknown) => false,
    private readonly late: LateWrites,
  ) {
    this.dueAt = late.dueFromNow();
    late.add(this);
  }

  /** Records the start of an attempt (the dispatcher's `onStart`). */
  readonly onStart = (info: DispatchStart): void => {
    const patch = startPatch(info, this.rec.sentAt, 0);
    this.started = patch;
    this.inserted?.then((ok) => ok && this.requests.update(this.rec.requestId, patch));
  };

  /** Records completion; `now` is the completion time. */
  finish(patch: Partial<RequestRecord>, now: number): void {
    this.finished = true;
    this.late.drop(this);
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

  /** Still running when due: inserted now so the call in flight is visible. */
  fire(): void {
    if (this.finished || this.inserted) return;
    // Sync calls are not resumable (the caller holds the connection), so the raw input is not kept.
    const rec = this.started ? { ...this.rec, ...this.started } : this.rec;
    this.inserted = this.requests.insert(rec, EMPTY).then(() => true, this.onError);
  }
}
